# log_call.sh: tests and debugging: record each call and its arguments.
log_call() {
    if [ -n "${JUICE_SCRIPTLET_LOG:-}" ]; then echo "$*" >>"$JUICE_SCRIPTLET_LOG"; fi
}
