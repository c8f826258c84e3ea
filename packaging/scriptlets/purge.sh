# purge.sh: remove what the package and juice made, and nothing else. Every step runs
# even when an earlier one failed; what could not be removed is named at the end, and
# the package manager still finishes. Kept: directories in @ENVS_DIR@ without juice's
# stamp file @STAMP@, units without juice's marker, an administrator's other files in
# @CONFIG_DIR@, the contents of @SHARED_DIR@, anything but juice's lock files in
# @LOCKS_DIR@ (e.g. an administrator's version control there), anything but juice's
# journals in @GENERATIONS_DIR@.
purge_failed=""

purge_remove() {
    # $1: a path to remove (recursively); reported if that fails.
    [ -e "$1" ] || [ -L "$1" ] || return 0
    if ! purge_error=$(rm -rf -- "$1" 2>&1); then
        warn "could not remove $1: $(echo "$purge_error" | tail -n 1)"
        purge_failed="$purge_failed $1"
    fi
}

purge_rmdir_if_empty() {
    # Directories go only when nothing an administrator put there is left.
    [ -d "$1" ] || return 0
    rmdir -- "$1" 2>/dev/null || say "kept $1 (not empty)"
}

purge_generated() {
    for entry in @ENVS_DIR@/* @ENVS_DIR@/.[!.]*; do
        [ -e "$entry" ] || [ -L "$entry" ] || continue
        if [ -d "$entry" ] && [ ! -L "$entry" ] && [ -f "$entry/@STAMP@" ]; then
            purge_remove "$entry"
        elif [ "$entry" = @LOCK_FILE@ ] || [ "$entry" = @LEGACY_PODMAN_LOCK@ ]; then
            purge_remove "$entry"
        else
            say "kept $entry (juice did not create it)"
        fi
    done
    purge_rmdir_if_empty @ENVS_DIR@
    purge_remove @RUN_DIR@
    for log in @BUILD_LOG_PREFIX@*@BUILD_LOG_SUFFIX@; do
        purge_remove "$log"
    done
    removed_unit=no
    for unit in @UNIT_DIR@/juice-*; do
        if [ ! -f "$unit" ] || [ -L "$unit" ]; then continue; fi
        case "$(head -n 1 "$unit" 2>/dev/null)" in
            @MARKER@*)
                purge_remove "$unit"
                removed_unit=yes
                ;;
        esac
    done
    # The same test for a running systemd that Debian's helpers use.
    if [ "$removed_unit" = yes ] && [ -d /run/systemd/system ]; then
        systemctl daemon-reload || warn "warning: systemctl daemon-reload failed"
    fi
    # The environments' locks: juice's own files, then their folders if nothing else is there.
    previous=@PREVIOUS_LOCK_PREFIX@
    for lock_dir in @LOCKS_DIR@/*; do
        if [ ! -d "$lock_dir" ] || [ -L "$lock_dir" ]; then continue; fi
        for name in @LOCK_NAME@ @LOCKED_PYPROJECT_NAME@ @LOCKED_EXPORT_NAME@; do
            purge_remove "$lock_dir/$name"
            purge_remove "$lock_dir/$previous$name"
        done
        purge_rmdir_if_empty "$lock_dir"
    done
    # A lock step's work folder, left by a juice that was killed while locking.
    for work in @LOCKS_DIR@/.*@LOCK_WORK_SUFFIX@; do
        if [ -d "$work" ] && [ ! -L "$work" ]; then purge_remove "$work"; fi
    done
    [ -L @LOCKS_DIR@ ] || purge_rmdir_if_empty @LOCKS_DIR@
    # The environments' journals of the images they got (never a link put there).
    for journal in @GENERATIONS_DIR@/*@GENERATIONS_SUFFIX@; do
        if [ -f "$journal" ] && [ ! -L "$journal" ]; then purge_remove "$journal"; fi
    done
    [ -L @GENERATIONS_DIR@ ] || purge_rmdir_if_empty @GENERATIONS_DIR@
    # The shared folder (user data: only when empty) and those juice made above it; the
    # shared folder of earlier versions.
    for dir in @LOG_DIR@ @SHARED_DIR@ @SHARED_PARENT@ @SHARED_GRANDPARENT@ \
        @LEGACY_SHARED_DIR@ @VAR_DIR@; do
        purge_rmdir_if_empty "$dir"
    done
    if [ -n "$purge_failed" ]; then
        warn "purge could not remove:$purge_failed"
        warn "the package is removed; remove those by hand (reasons above)."
    fi
    return 0
}
