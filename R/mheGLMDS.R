#' Encrypted contribution to one IRLS round of a GLM (server side)
#'
#' Used by [ds.mheGLM()]. The site parses and checks the formula (see
#' [mheGLMLevelsDS()]), builds the model from `data` as `glm()` would (complete
#' cases; categorical variables as factors with the agreed `levels`;
#' treatment contrasts), applies dsBase's glm disclosure checks (at most
#' `nfilter.glm` parameters per observation; no binary outcome, model-matrix
#' column, weight or offset with a class below `nfilter.tab`), and encrypts:
#' the upper triangle of \eqn{X'WX} and \eqn{X'Wz} at the current linear
#' predictor, then the deviance there, whether the step is out of bounds, the
#' number of rows and of rows with nonzero weight, the sums of weights times
#' response and of weights, the family's AIC term, whether fitted values are
#' numerically 0 or 1, the null-deviance term, and the number of complete cases
#' at each agreed level.
#'
#' @inheritParams mheGLMLevelsDS
#' @inheritParams mheMeanDS
#' @param family `"gaussian"`, `"binomial"` or `"poisson"` (canonical link).
#' @param weights,offset `NULL` or the name of a numeric column of `data`.
#' @param levels `NULL`, or the agreed levels of the categorical variables:
#'   base64url of lines `=<column>` followed by `.<level>` lines.
#' @param round `"init"` (from the family's starting values; for the null
#'   model, from the fitted values at `start`) or `"step"` (at `beta`).
#' @param model `"full"` or `"null"` (intercept only, with the offset: for the
#'   null deviance of a model with an offset).
#' @param beta,start `NULL` or coefficients (of the fitted model, and of the
#'   full model for `start`) as comma-separated hex of doubles.
#' @param wtdmu `NULL` or the pooled weighted mean of the response (hex), at
#'   which the site computes its null-deviance term.
#' @returns A raw vector (signed contribution).
#' @family server functions
#' @export
mheGLMDS <- function(formula, family, data, weights = NULL, offset = NULL, levels = NULL,
                     round = "init", model = "full", beta = NULL, start = NULL,
                     wtdmu = NULL, query, sites) {
  env <- parent.frame()
  party <- srv_party(env)
  site <- srv_site(party)
  query <- srv_query(query, site)
  sites <- srv_sites(sites, site)
  local <- glm_site_values(env, site, formula, family, data, weights, offset, levels,
                           round, model, beta, start, wtdmu)
  srv_contribute(party, site, query, paste0("glm-", model, "-", round), local$text, sites,
                 local$values)
}
