#' Classes and levels of a GLM's variables (server side)
#'
#' The first round of [ds.mheGLM()]. The formula arrives as base64url text and
#' is parsed and checked against the allow-list of [ds.mheGLM()] (column
#' names, `0`/`1`, `+ - * : ^ ( )`, and log(), exp(), sqrt(), log1p(),
#' expm1(), abs() and I() with arithmetic inside); anything else is refused
#' before any evaluation. For each variable the site returns its class, and
#' for a factor or character variable its levels, with [mheLevelsDS()]'s
#' checks.
#'
#' @param formula The formula's text, base64url (UTF-8) without padding.
#' @param data Name of a data frame, e.g. `"D"`.
#' @returns A list: `class` (named character: `"numeric"`, `"logical"`,
#'   `"factor"` or `"character"`) and `levels` (a named list of the
#'   categorical variables' levels).
#' @family server functions
#' @export
mheGLMLevelsDS <- function(formula, data) {
  env <- parent.frame()
  party <- srv_party(env)
  glm_site_levels(env, srv_site(party), formula, data)
}
