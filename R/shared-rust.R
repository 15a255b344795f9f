# Calling the Rust core --------------------------------------------------------
#
# The bindings return an object of class `extendr_error` instead of raising an
# error (extendr's `result_condition` feature); its `$value` is
# `list(message, kind)`, `kind` being the refusal kind ("" for an error that is
# not a refusal). `rs_call()` turns it into a classed R error: a refusal gets
# the classes `dsMHE_error_refused_<kind>` and `dsMHE_error_refused`, from the
# kind, never from the message text. On a server, pass `site` so that the
# message names the site, as every server error does; a refusal's message then
# reads "<site>: refused: <rule> [<kind>]", which the analyst's side reads back
# into the same classes (`mhe_stop_sites()`: DataSHIELD passes on only the
# message of a server error).

rs_call <- function(expr, site = NULL) {
  value <- tryCatch(
    expr,
    dsMHE_error = function(e) stop(e),
    error = function(e) {
      # a binding that is missing or panicked: still a classed error
      structure(list(value = list(message = conditionMessage(e), kind = "")),
                class = "extendr_error")
    }
  )
  if (inherits(value, "extendr_error")) {
    rs_abort(value$value, site)
  }
  value
}

rs_abort <- function(err, site) {
  msg <- if (is.list(err)) err$message else err
  msg <- as.character(msg %||% "unknown error in the Rust core")[1]
  kind <- if (is.list(err)) as.character(err$kind %||% "")[1] else ""
  if (is.na(kind) || !grepl("^[a-z_]+$", kind)) kind <- ""
  class <- if (nzchar(kind)) c(paste0("refused_", kind), "refused") else "crypto"
  problem <- if (nzchar(kind)) paste0("refused: ", msg, " [", kind, "]") else msg
  if (is.null(site)) {
    mhe_abort("{problem}", class = class, kind = kind, call = NULL)
  }
  mhe_server_abort(site, problem, class = class)
}
