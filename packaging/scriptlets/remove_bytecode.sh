# remove_bytecode.sh: the caches byte_compile wrote go before the package manager
# removes or replaces the venv (it knows nothing of them).
remove_bytecode() {
    find @VENV@ -depth -type d -name __pycache__ -exec rm -rf {} + 2>/dev/null || true
}
