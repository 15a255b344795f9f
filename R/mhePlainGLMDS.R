#' Plaintext baseline: a site's GLM round, unencrypted (server side)
#'
#' For benchmarks only: returns in the clear the vector that [mheGLMDS()]
#' would encrypt, with the same checks, as dsBase's `glmDS2` returns its
#' information matrix and score vector. It needs no dsMHE session.
#'
#' @inheritParams mheGLMDS
#' @returns A double vector.
#' @family server functions
#' @export
mhePlainGLMDS <- function(formula, family, data, weights = NULL, offset = NULL, levels = NULL,
                          round = "init", model = "full", beta = NULL, start = NULL,
                          wtdmu = NULL) {
  env <- parent.frame()
  glm_site_values(env, "this site", formula, family, data, weights, offset, levels,
                  round, model, beta, start, wtdmu)$values
}
