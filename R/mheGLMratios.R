#' Odds ratios and rate ratios of an encrypted GLM
#'
#' Exponentiated coefficients of a binomial (odds ratios) or poisson (rate
#' ratios) fit of [ds.mheGLM()], with the exponentiated Wald intervals of
#' [confint.mheGLM()]: \eqn{\exp(\hat\beta \pm z \cdot SE)}. This is
#' `exp(cbind(coef(fit), confint.default(fit)))` on the pooled `glm()`. The
#' intercept's row is the odds (or rate) at the reference levels and zero
#' covariates, not a ratio. A gaussian coefficient is a difference, not a
#' ratio: use [confint()].
#'
#' @param fit A result of [ds.mheGLM()] with family binomial or poisson.
#' @param level Confidence level of the intervals.
#' @returns A matrix with one row per coefficient (`NA` for an aliased one)
#'   and columns `Odds ratio` (binomial) or `Rate ratio` (poisson), the lower
#'   and upper limits (labelled in percent) and the p-value of the Wald test
#'   `Pr(>|z|)`; attribute `level`.
#' @seealso [confint.mheGLM()], [ds.mheGLM()].
#' @export
#' @examples
#' \dontrun{
#' fit <- ds.mheGLM(DIS_DIAB ~ PM_BMI_CONTINUOUS + GENDER, family = "binomial")
#' mheGLMratios(fit)
#' }
mheGLMratios <- function(fit, level = 0.95) {
  if (!inherits(fit, "mheGLM")) {
    mhe_abort("{.arg fit} must be a result of {.fn ds.mheGLM}.", class = "input")
  }
  label <- switch(fit$family, binomial = "Odds ratio", poisson = "Rate ratio")
  if (is.null(label)) {
    mhe_abort(c(
      "Ratios need a binomial or poisson fit, not {fit$family}.",
      i = "A gaussian coefficient is a difference in means: use {.code confint(fit)}."
    ), class = "input")
  }
  est <- stats::coef(fit)
  ci <- confint.mheGLM(fit, level = level)
  p <- stats::setNames(rep(NA_real_, length(est)), names(est))
  p[!fit$aliased] <- fit$coefficients[, "Pr(>|z|)"]
  out <- cbind(exp(est), exp(ci), p)
  colnames(out) <- c(label, colnames(ci), "Pr(>|z|)")
  attr(out, "level") <- level
  out
}
