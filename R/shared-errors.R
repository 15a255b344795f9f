# Errors ---------------------------------------------------------------------
#
# Every error dsMHE raises has class `dsMHE_error`, plus a subclass naming the
# kind of problem: `dsMHE_error_refused` (a site applied a rule), `_input` (an
# argument is malformed), `_setup` (no session), `_server` (DataSHIELD errors
# collected from the sites), `_crypto` (the Rust core failed).

mhe_abort <- function(message, class = NULL, ..., call = rlang::caller_env(),
                      .envir = parent.frame()) {
  cli::cli_abort(
    message,
    class = c(if (!is.null(class)) paste0("dsMHE_error_", class), "dsMHE_error"),
    ...,
    call = call,
    .envir = .envir
  )
}

# A server-side error: one plain line, "<site>: <problem>", because DataSHIELD
# servers pass only the message of an error on to the client. Built directly,
# without cli's formatting and rlang's backtrace, which nobody sees on a
# server and which cost about 20 ms per error (a burst of malformed calls).
mhe_server_abort <- function(site, problem, class = "input") {
  site <- site %||% "this site"
  stop(structure(
    class = c(paste0("dsMHE_error_", class), "dsMHE_error", "error", "condition"),
    list(message = paste0(site, ": ", problem), call = NULL)
  ))
}

mhe_refuse <- function(site, rule) {
  mhe_server_abort(site, paste0("refused: ", rule), class = "refused")
}

`%||%` <- function(x, y) if (is.null(x)) y else x
