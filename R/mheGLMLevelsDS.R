#' Classes and levels of a GLM's variables (server side)
#'
#' The first round of [ds.mheGLM()]. The formula arrives as base64url text and
#' is parsed and checked against a small formula language (column names,
#' `0`/`1`, `+ - * : ( )`, `(...)^k` with `k` at most 3, interactions of at
#' most 3 variables, and the transforms of ONE column `log(x)`, `sqrt(x)`,
#' `exp(x)`, `log1p(x)`, `expm1(x)`, `abs(x)`, `I(x^2)` and `I(x^3)`: no free
#' numeric constant, so no formula builds a column that selects a row);
#' anything else is refused before any evaluation. The terms are expanded
#' without [stats::terms()] and the model-matrix columns counted from the
#' site's level counts (every level of a factor counted) before anything is
#' built: above 200 columns the site refuses, naming the limit. For each
#' variable the site returns its class, and for a factor or character
#' variable its levels, with [mheLevelsDS()]'s checks.
#'
#' @param formula The formula's text, base64url (UTF-8) without padding.
#' @param data Name of a data frame, e.g. `"D"`.
#' @returns A list: `class` (named character: `"numeric"`, `"logical"`,
#'   `"factor"` or `"character"`), `levels` (a named list of the
#'   categorical variables' levels) and `dp` (whether the site has
#'   differential privacy on).
#' @family server functions
#' @export
mheGLMLevelsDS <- function(formula, data) {
  env <- parent.frame()
  party <- srv_party(env)
  srv_glm_site_levels(env, srv_site(party), formula, data)
}
