"""Publish built .deb/.rpm files into a signed, static apt + dnf repository tree.

Entry point: ``scripts/publish-repo`` (``python -m juice_packaging.publish``). The tree
is plain files that any web server or object store can serve; see docs/publishing.md.
"""
