# Calling the Rust core --------------------------------------------------------
#
# The bindings return an object of class `extendr_error` (message in `$value`)
# instead of raising an error (extendr's `result_condition` feature): `rs_call()`
# turns it into a classed R error. On a server, pass `site` so that the message
# names the site, as every server error does.

rs_call <- function(expr, site = NULL) {
  value <- tryCatch(
    expr,
    dsMHE_error = function(e) stop(e),
    error = function(e) {
      # a binding that is missing or panicked: still a classed error
      structure(list(value = conditionMessage(e)), class = "extendr_error")
    }
  )
  if (inherits(value, "extendr_error")) {
    msg <- as.character(value$value %||% "unknown error in the Rust core")[1]
    refused <- startsWith(msg, "refused")
    class <- if (refused) "refused" else "crypto"
    if (is.null(site)) {
      mhe_abort("{msg}", class = class, call = NULL)
    }
    mhe_server_abort(site, msg, class = class)
  }
  value
}
