# rebuild.sh: regenerate and rebuild every environment image with the bundled juice.
# Never fails the package: the messages say what to retry. juice waits a bounded time
# for another juice process (@LOCK_TIMEOUT_ENV@, in seconds), then gives up cleanly.
rebuild_images() {
    @LOCK_TIMEOUT_ENV@=${@LOCK_TIMEOUT_ENV@:-@LOCK_TIMEOUT@}
    export @LOCK_TIMEOUT_ENV@
    say "if another juice command holds the lock, waiting for it (at most $@LOCK_TIMEOUT_ENV@ s)"
    if [ "${JUICE_SKIP_IMAGE_BUILD:-0}" = 1 ]; then
        say "JUICE_SKIP_IMAGE_BUILD=1: environment images not rebuilt;"
        say "build them later with: sudo juice env build --all"
        # Rendering is quick and shows the configuration is valid.
        @VENV@/bin/juice env render --all ||
            warn "warning: 'juice env render' failed (see above)"
        return 0
    fi
    say "rebuilding every environment image: juice env build --all"
    rc=0
    @VENV@/bin/juice env build --all --progress=plain || rc=$?
    if [ "$rc" -ne 0 ]; then
        # The package itself is fine: never leave it half-configured over an image.
        warn "the image rebuild did not complete (juice exited $rc);"
        warn "the messages above name each failed environment and its log."
        warn "the package is installed; retry with: sudo juice env build --all"
    fi
    return 0
}
