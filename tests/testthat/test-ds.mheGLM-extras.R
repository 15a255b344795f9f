# confint(), summary(), odds and rate ratios and per-iteration progress of
# ds.mheGLM(), against glm(), confint.default() and confint.lm() on the
# row-bound data of the sites.

extras_data <- function() {
  data <- cnsim_data()
  hdl <- stats::median(unlist(lapply(data, `[[`, "LAB_HDL")), na.rm = TRUE)
  lapply(data, function(d) {
    d$HDL_HIGH <- as.integer(d$LAB_HDL > hdl)
    d$TRIG_COUNT <- pmax(0, floor(2 * d$LAB_TRIG))
    d
  })
}

extras_federation <- function() {
  if (!exists("extras", envir = federations)) {
    assign("extras", fresh_federation(extras_data()), envir = federations)
  }
  get("extras", envir = federations)
}

test_that("confint() of a binomial fit equals confint.default() of glm() on the pooled data", {
  conns <- extras_federation()
  f <- HDL_HIGH ~ PM_BMI_CONTINUOUS + GENDER
  fit <- ds.mheGLM(f, family = "binomial", datasources = conns, progress = FALSE)
  ref <- stats::glm(f, family = stats::binomial(), data = pooled(conns))
  expect_equal(confint(fit), stats::confint.default(ref), tolerance = 1e-6)
  expect_equal(confint(fit, level = 0.9), stats::confint.default(ref, level = 0.9), tolerance = 1e-6)
  expect_equal(confint(fit, "GENDER1"), stats::confint.default(ref, "GENDER1"), tolerance = 1e-6)
  expect_equal(confint(fit, 2:3), stats::confint.default(ref, 2:3), tolerance = 1e-6)
  expect_error(confint(fit, level = 1.5), class = "dsMHE_error_input")
  expect_error(confint(fit, "nope"), class = "dsMHE_error_input")
})

test_that("odds ratios are exp() of the coefficients and of their Wald intervals", {
  conns <- extras_federation()
  f <- HDL_HIGH ~ PM_BMI_CONTINUOUS + GENDER
  fit <- ds.mheGLM(f, family = "binomial", datasources = conns, progress = FALSE)
  ref <- stats::glm(f, family = stats::binomial(), data = pooled(conns))
  ratios <- mheGLMratios(fit)
  expected <- exp(cbind(stats::coef(ref), stats::confint.default(ref)))
  expect_equal(unname(ratios[, 1:3]), unname(expected), tolerance = 1e-6)
  expect_identical(colnames(ratios), c("Odds ratio", "2.5 %", "97.5 %", "Pr(>|z|)"))
  expect_identical(rownames(ratios), names(stats::coef(ref)))
  expect_equal(unname(ratios[, 4]), unname(summary(ref)$coefficients[, 4]), tolerance = 1e-6)
  expect_identical(attr(ratios, "level"), 0.95)
})

test_that("rate ratios of a poisson fit match glm() with confint.default()", {
  conns <- extras_federation()
  f <- TRIG_COUNT ~ LAB_HDL + GENDER
  fit <- ds.mheGLM(f, family = "poisson", datasources = conns, progress = FALSE)
  ref <- stats::glm(f, family = stats::poisson(), data = pooled(conns))
  ratios <- mheGLMratios(fit, level = 0.99)
  expected <- exp(cbind(stats::coef(ref), stats::confint.default(ref, level = 0.99)))
  expect_equal(unname(ratios[, 1:3]), unname(expected), tolerance = 1e-6)
  expect_identical(colnames(ratios)[1:3], c("Rate ratio", "0.5 %", "99.5 %"))
})

test_that("confint() of a gaussian fit uses t quantiles on df.residual, as confint.lm()", {
  conns <- extras_federation()
  f <- LAB_TSC ~ LAB_HDL + GENDER
  fit <- ds.mheGLM(f, datasources = conns, progress = FALSE)
  ref <- stats::lm(f, data = pooled(conns))
  expect_equal(confint(fit), stats::confint(ref), tolerance = 1e-6)
  e <- expect_error(mheGLMratios(fit), class = "dsMHE_error_input")
  expect_match(conditionMessage(e), "confint(fit)", fixed = TRUE)
  expect_error(mheGLMratios(list()), class = "dsMHE_error_input")
})

test_that("summary() returns the fit with its scaled covariance and prints the ratios", {
  conns <- extras_federation()
  f <- HDL_HIGH ~ PM_BMI_CONTINUOUS + GENDER
  fit <- ds.mheGLM(f, family = "binomial", datasources = conns, progress = FALSE)
  s <- summary(fit)
  expect_s3_class(s, "summary.mheGLM")
  expect_identical(s$cov.scaled, vcov(fit))
  expect_identical(s$ratios, mheGLMratios(fit))
  expect_identical(s$coefficients, fit$coefficients)
  out <- utils::capture.output(print(s))
  expect_true(any(grepl("Odds ratios with Wald 95% intervals:", out, fixed = TRUE)))
  expect_true(any(grepl("Number of Fisher Scoring iterations", out, fixed = TRUE)))
  g <- summary(ds.mheGLM(LAB_TSC ~ LAB_HDL, datasources = conns, progress = FALSE))
  expect_null(g$ratios)
  expect_false(any(grepl("ratios", utils::capture.output(print(g)))))
})

test_that("progress reports each iteration with its deviance, and progress = FALSE is quiet", {
  conns <- extras_federation()
  f <- HDL_HIGH ~ PM_BMI_CONTINUOUS
  lines <- character()
  fit <- withCallingHandlers(
    ds.mheGLM(f, family = "binomial", datasources = conns, progress = TRUE),
    message = function(m) {
      lines <<- c(lines, conditionMessage(m))
      invokeRestart("muffleMessage")
    }
  )
  iterations <- grep("Iteration [0-9]+: deviance", lines, value = TRUE)
  expect_length(iterations, fit$iter)
  expect_match(iterations[fit$iter], paste0("Iteration ", fit$iter, ": deviance ",
                                            format(fit$deviance, digits = 10)), fixed = TRUE)
  quiet <- character()
  withCallingHandlers(
    ds.mheGLM(f, family = "binomial", datasources = conns, progress = FALSE),
    message = function(m) {
      quiet <<- c(quiet, conditionMessage(m))
      invokeRestart("muffleMessage")
    }
  )
  expect_false(any(grepl("Iteration", quiet)))
  expect_error(ds.mheGLM(f, datasources = conns, progress = "yes"), class = "dsMHE_error_input")
})
