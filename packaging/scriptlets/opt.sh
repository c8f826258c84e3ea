# opt.sh: a .deb lists the parent directories of its files, so dpkg counts /opt as this
# package's and deletes it with the package when no other package lists it (base-files
# creates /opt without listing it). Put it back as base-files makes it.
restore_opt() {
    [ -d /opt ] || mkdir -m 0755 /opt || warn "warning: could not recreate /opt"
}
