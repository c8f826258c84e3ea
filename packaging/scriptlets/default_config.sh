# default_config.sh: the administrator owns @CONFIG@. The package ships its default as
# @DEFAULT_CONFIG@ and installs it once, on the first install, so that no upgrade edits
# it or asks about it. (A host upgrading from a version that shipped it as a conffile
# keeps its file: dpkg leaves a conffile the new version no longer ships in place.)
install_default_config() {
    # $1: the version configured before; empty on a first install.
    [ -z "$1" ] || return 0
    [ ! -e @CONFIG@ ] || return 0
    if mkdir -p @CONFIG_DIR@ && cp @DEFAULT_CONFIG@ @CONFIG@.juice-new &&
        mv @CONFIG@.juice-new @CONFIG@; then
        say "installed the default configuration @CONFIG@ (yours to edit)"
    else
        warn "warning: could not install @CONFIG@; copy it from @DEFAULT_CONFIG@"
    fi
}
