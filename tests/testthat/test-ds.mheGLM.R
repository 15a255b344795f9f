# ds.mheGLM() against glm() on the row-bound data of the sites.

# CNSIM1-3 with derived outcomes and degenerate levels:
# - HDL_HIGH (binomial): LAB_HDL above the pooled median; TRIG_COUNT
#   (poisson): floor(2 * LAB_TRIG); weights W (real), W_INT (whole) and an
#   offset EXPOSURE, all functions of the row number;
# - PM_BMI_CATEGORICAL level "3" absent at sim2; BMI4, the same with a level
#   "0" that no site uses (glm() drops it, so "1" is the reference); SMOKE, a
#   character variable whose value "former" is absent at sim3, never
#   "current" with BMI "3" (an empty interaction cell: an aliased column);
#   OLD, a logical covariate.
glm_cnsim_data <- function() {
  data <- cnsim_data()
  hdl <- stats::median(unlist(lapply(data, `[[`, "LAB_HDL")), na.rm = TRUE)
  data <- lapply(data, function(d) {
    i <- seq_len(nrow(d))
    bmi <- as.character(d$PM_BMI_CATEGORICAL)
    d$HDL_HIGH <- as.integer(d$LAB_HDL > hdl)
    d$TRIG_COUNT <- pmax(0, floor(2 * d$LAB_TRIG))
    d$W <- 0.5 + (i %% 4) / 4
    d$W_INT <- 1 + i %% 3
    d$EXPOSURE <- log(1 + i %% 5)
    d$BMI4 <- factor(bmi, levels = c("0", "1", "2", "3"))
    d$SMOKE <- c("never", "former", "current")[1 + i %% 3]
    d$SMOKE[!is.na(bmi) & bmi == "3" & d$SMOKE == "current"] <- "former"
    d$OLD <- i %% 2 == 0
    d
  })
  data$sim2 <- data$sim2[is.na(data$sim2$PM_BMI_CATEGORICAL) | data$sim2$PM_BMI_CATEGORICAL != "3", ]
  data$sim3$SMOKE[data$sim3$SMOKE == "former"] <- "never"
  data
}

# Three small sites: `sep` is perfectly separated by `x`; site b has only two
# y = 1; site a has one flag = 1; site c has 12 rows (at most 3 parameters
# under nfilter.glm = 0.33).
glm_small_data <- function() {
  make <- function(n, ones, flags) {
    i <- seq_len(n)
    x <- (i - n / 2 - 0.5) / n * 4
    d <- data.frame(x = x, x2 = sin(i), x3 = cos(i), x4 = sin(2 * i), x5 = cos(3 * i),
                    sep = as.integer(x > 0), y = as.integer(i %% 3 == 0),
                    flag = as.integer(i <= flags))
    if (!is.null(ones)) d$y <- as.integer(i <= ones)
    d
  }
  list(a = make(60, NULL, 1), b = make(60, 2, 5), c = make(12, NULL, 5))
}

glm_federation <- function(name = c("cnsim", "small")) {
  name <- match.arg(name)
  key <- paste0("glm_", name)
  if (!exists(key, envir = federations)) {
    data <- switch(name, cnsim = glm_cnsim_data(), small = glm_small_data())
    assign(key, fresh_federation(data), envir = federations)
  }
  get(key, envir = federations)
}

glm_pooled <- function(formula, family, conns, weights = NULL, offset = NULL) {
  data <- pooled(conns)
  data$.w <- if (!is.null(weights)) data[[weights]]
  data$.o <- if (!is.null(offset)) data[[offset]]
  args <- list(formula, family = family, data = data)
  if (!is.null(weights)) args$weights <- quote(.w)
  if (!is.null(offset)) args$offset <- quote(.o)
  do.call(stats::glm, args)
}

expect_rel <- function(object, expected, tolerance) {
  expect_equal(is.na(object), is.na(expected))
  ok <- !is.na(expected)
  scale <- pmax(abs(expected[ok]), .Machine$double.xmin)
  expect_lt(max(abs(object[ok] - expected[ok]) / scale, 0), tolerance)
}

# Coefficients and standard errors to 1e-6 relative (the contract), the
# rest as glm() and summary.glm() give it.
expect_glm_equal <- function(fit, expected) {
  s <- summary(expected)
  expect_s3_class(fit, "mheGLM")
  expect_identical(dimnames(fit$coefficients), dimnames(s$coefficients))
  expect_rel(fit$coefficients[, "Estimate"], s$coefficients[, "Estimate"], 1e-6)
  expect_rel(fit$coefficients[, "Std. Error"], s$coefficients[, "Std. Error"], 1e-6)
  expect_equal(fit$coefficients[, 3:4], s$coefficients[, 3:4], tolerance = 1e-6)
  expect_rel(coef(fit), coef(expected), 1e-6)
  expect_equal(fit$aliased, s$aliased)
  expect_rel(fit$deviance, expected$deviance, 1e-9)
  expect_rel(fit$null.deviance, expected$null.deviance, 1e-9)
  expect_rel(fit$aic, expected$aic, 1e-9)
  expect_rel(fit$dispersion, s$dispersion, 1e-9)
  expect_equal(fit$df.residual, expected$df.residual)
  expect_equal(fit$df.null, expected$df.null)
  expect_identical(fit$iter, expected$iter)
  expect_equal(fit$n, stats::nobs(expected))
  expect_identical(fit$family, expected$family$family)
  expect_true(fit$converged)
}

test_that("a gaussian GLM with a factor, an interaction and log() equals glm()", {
  conns <- glm_federation("cnsim")
  f <- LAB_TSC ~ LAB_TRIG * GENDER + PM_BMI_CATEGORICAL + log(LAB_HDL)
  fit <- ds.mheGLM(f, data = "D", datasources = conns)
  expect_glm_equal(fit, suppressWarnings(glm_pooled(f, "gaussian", conns)))
  expect_identical(colnames(fit$coefficients), c("Estimate", "Std. Error", "t value", "Pr(>|t|)"))
  expect_identical(fit$iter, 2L)
  out <- capture.output(print(fit))
  expect_true(any(grepl("^Coefficients:", out)))
  expect_true(any(grepl(paste0("Residual deviance: .* on ", fit$df.residual, "  degrees of freedom"), out)))
  expect_true(any(grepl("Number of Fisher Scoring iterations: 2", out, fixed = TRUE)))
  expect_equal(vcov(fit), fit$cov.unscaled * fit$dispersion)
})

test_that("a binomial GLM with an interaction and weights equals glm()", {
  conns <- glm_federation("cnsim")
  f <- HDL_HIGH ~ LAB_TSC + GENDER * PM_BMI_CONTINUOUS
  fit <- ds.mheGLM(f, family = "binomial", weights = "W_INT", datasources = conns)
  expect_glm_equal(fit, glm_pooled(f, "binomial", conns, weights = "W_INT"))
  expect_identical(colnames(fit$coefficients)[3:4], c("z value", "Pr(>|z|)"))
})

test_that("a poisson GLM with weights and an offset equals glm(), iterated null deviance included", {
  conns <- glm_federation("cnsim")
  f <- TRIG_COUNT ~ LAB_TSC + GENDER + PM_BMI_CATEGORICAL
  fit <- ds.mheGLM(f, family = stats::poisson(), weights = "D$W", offset = "EXPOSURE",
                   datasources = conns)
  expect_glm_equal(fit, glm_pooled(f, "poisson", conns, weights = "W", offset = "EXPOSURE"))
})

test_that("a model without an intercept equals glm()", {
  conns <- glm_federation("cnsim")
  f <- LAB_TSC ~ 0 + I(LAB_HDL^2) + GENDER
  fit <- ds.mheGLM(f, weights = "W", offset = "EXPOSURE", datasources = conns)
  expect_glm_equal(fit, glm_pooled(f, "gaussian", conns, weights = "W", offset = "EXPOSURE"))
})

test_that("levels absent at a site or everywhere, characters, logicals and empty cells give glm()'s answer", {
  conns <- glm_federation("cnsim")
  all <- pooled(conns)
  expect_identical(sum(attr(conns, "data")$sim2$PM_BMI_CATEGORICAL == "3", na.rm = TRUE), 0L)
  f <- LAB_TSC ~ BMI4 * SMOKE + OLD + PM_BMI_CATEGORICAL:LAB_HDL
  fit <- ds.mheGLM(f, datasources = conns)
  expected <- glm_pooled(f, "gaussian", conns)
  expect_glm_equal(fit, expected)
  expect_true(any(fit$aliased))
  expect_false("BMI40" %in% names(fit$aliased))
  expect_true(any(grepl("not defined because of singularities", capture.output(print(fit)))))
  f <- DIS_DIAB ~ LAB_TSC + SMOKE + OLD
  fit <- ds.mheGLM(f, family = "binomial", datasources = conns)
  expect_glm_equal(fit, glm_pooled(f, "binomial", conns))
})

test_that("the plaintext baseline runs the same IRLS to the same fit", {
  # The baseline is not declared by the package: the benchmark registers it
  # in its own DSLite configuration, as this federation does.
  conns <- plain_glm_federation()
  f <- LAB_TSC ~ LAB_HDL + PM_BMI_CATEGORICAL
  encrypted <- ds.mheGLM(f, datasources = conns)
  plain <- dsMHE:::mhe_glm_run(f, datasources = conns, plaintext = TRUE)
  expect_equal(plain$coefficients, encrypted$coefficients, tolerance = 1e-9)
  expect_identical(plain$iter, encrypted$iter)
})

test_that("perfect separation is a clear error where glm() warns", {
  conns <- glm_federation("small")
  warned <- character()
  withCallingHandlers(glm_pooled(sep ~ x, "binomial", conns), warning = function(w) {
    warned <<- c(warned, conditionMessage(w))
    invokeRestart("muffleWarning")
  })
  expect_true(any(grepl("fitted probabilities numerically 0 or 1 occurred", warned)))
  rows <- rows_federation()
  err <- expect_error(ds.mheGLM(sep50 ~ age, family = "binomial", maxit = 8, datasources = rows),
                      class = "dsMHE_error_separation")
  expect_match(conditionMessage(err), "fitted probabilities are numerically 0 or 1")
  # at site c (12 rows) the diverging fit first puts its working weights on
  # fewer than nfilter.tab rows, which the site refuses
  err <- expect_error(ds.mheGLM(sep ~ x, family = "binomial", maxit = 8, datasources = conns),
                      class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "c: refused: nfilter.tab: the IRLS working weights")
})

test_that("sites refuse too many parameters, concentrated columns and row-selecting levels", {
  conns <- glm_federation("small")
  err <- expect_error(ds.mheGLM(x ~ x2 + x3 + x4 + x5, datasources = conns),
                      class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "c: refused: nfilter.glm: the model has 5 parameters")
  expect_false(grepl("\\b[ab]: ", conditionMessage(err)))
  err <- expect_error(ds.mheGLM(y ~ x, family = "binomial", datasources = conns),
                      class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "b: refused: nfilter.tab: the outcome concentrates on fewer than nfilter.tab")
  err <- expect_error(ds.mheGLM(x ~ flag, datasources = conns), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "a: refused: nfilter.tab: the model matrix column `flag` concentrates")

  cnsim <- glm_federation("cnsim")
  enc <- function(text) dsMHE:::rs_b64_encode(charToRaw(text))
  subset <- call("mheGLMDS", formula = enc("LAB_TSC ~ GENDER"), family = "gaussian", data = "D",
                 levels = enc("=GENDER\n.1"), query = dsMHE:::rs_random_id(),
                 sites = paste(names(cnsim), collapse = ","))
  expect_error(DSI::datashield.aggregate(cnsim, subset))
  expect_match(unlist(DSI::datashield.errors()), "refused: `GENDER` has a value here that is not among the given levels")

  fit <- ds.mheGLM(x ~ x2, datasources = conns)
  expect_glm_equal(fit, glm_pooled(x ~ x2, "gaussian", conns))
})

test_that("a site's refusal names the site and the rule", {
  conns <- glm_federation("small")
  expect_snapshot(ds.mheGLM(x ~ x2 + x3 + x4 + x5, datasources = conns), error = TRUE)
})

test_that("a formula with a forbidden call is refused without evaluation", {
  conns <- glm_federation("cnsim")
  marker <- tempfile()
  text <- paste0("LAB_TSC ~ system('touch ", marker, "')")
  err <- expect_error(ds.mheGLM(text, datasources = conns), class = "dsMHE_error_input")
  expect_match(conditionMessage(err), "`system()` is not allowed in a formula", fixed = TRUE)
  enc <- dsMHE:::rs_b64_encode(charToRaw(text))
  err <- expect_error(dsMHE:::mhe_aggregate(conns, call("mheGLMLevelsDS", enc, "D")),
                      class = "dsMHE_error_refused")
  for (site in names(conns)) {
    expect_match(conditionMessage(err), paste0(site, ": refused: `system()` is not allowed"), fixed = TRUE)
  }
  query <- dsMHE:::rs_random_id()
  expect_error(DSI::datashield.aggregate(conns, call(
    "mheGLMDS", enc, "gaussian", "D", query = query, sites = paste(names(conns), collapse = ",")
  )))
  expect_match(unlist(DSI::datashield.errors()), "refused: `system()` is not allowed", fixed = TRUE)
  expect_false(file.exists(marker))
  expect_rel(coef(ds.mheGLM(LAB_TSC ~ LAB_HDL, datasources = conns)),
             coef(glm_pooled(LAB_TSC ~ LAB_HDL, "gaussian", conns)), 1e-6)
})

test_that("the formula language accepts model terms and transforms of one column, and refuses code", {
  fail <- function(problem) stop(problem, call. = FALSE)
  parse <- function(text) dsMHE:::mhe_glm_formula_parse(text, fail)
  ok <- parse("log(y) ~ a * b + I(c^2) + (d + e)^2 - 1 + sqrt(f) + log(g) + h:i + I(j^3)")
  expect_setequal(ok$bare, c("a", "b", "d", "e", "h", "i"))
  expect_setequal(ok$arith, c("y", "c", "f", "g", "j"))
  expect_null(ok$response)
  expect_false(ok$intercept)
  expect_setequal(vapply(ok$terms, paste, "", collapse = ":"),
                  c("a", "b", "a:b", "I(c^2)", "d", "e", "d:e", "sqrt(f)", "log(g)", "h:i", "I(j^3)"))
  expect_identical(parse("y ~ x")$response, "y")
  expect_true(parse("y ~ x")$intercept)
  expect_identical(environment(ok$formula), baseenv())
  refused <- c(
    "y ~ system('ls')", "y ~ D$x", "y ~ .", "y ~ x + 2", "y ~ log(x, base = 2)",
    "y ~ I(get('x'))", "y ~ offset(x)", "y ~ x; q()", "y ~ 'x'", "y ~ x^y",
    "y", "~ x", "y ~ x + `a b`", "y ~ (function() 1)()", "y ~ x[1]", "y ~ I(x == 1)",
    paste0("y ~ ", strrep("(", 200), "x", strrep(")", 200)), "1 ~ x",
    # free constants and transforms of more than one column
    "y ~ I(x + 1)", "y ~ log(x, 2)", "y ~ I(x / 10)", "y ~ I(x^4)", "y ~ sqrt(abs(x))",
    "y ~ I(x * z)", "I(y * exp(-1e6 * (id - 7)^2) + 1e-300 * id) ~ 1", "y ~ exp(-x)",
    # interactions beyond the bounded order
    "y ~ (a + b + c + d)^4", "y ~ a:b:c:d", "y ~ a * b * c * d"
  )
  for (text in refused) expect_error(parse(text), label = text)
  expect_error(parse("y ~ x[1]"), "`[` is not allowed in a formula", fixed = TRUE)
  expect_error(parse("y ~ D$x"), "use the column names of `data`")
  expect_error(parse("y ~ I(x + 1)"), "I() in a formula takes only a power of one column", fixed = TRUE)
  expect_error(parse("y ~ (a + b)^5"), "a whole number from 1 to 3", fixed = TRUE)
})

test_that("the model-matrix columns are counted from the terms before anything is built", {
  fail <- function(problem) stop(problem, call. = FALSE)
  parse <- function(text) dsMHE:::mhe_glm_formula_parse(text, fail)
  count <- function(text, levels) dsMHE:::mhe_glm_count_columns(parse(text), levels, fail)
  # intercept + a (3 levels) + b (4) + c (5) + their interactions + x, every level counted
  expect_identical(count("y ~ a * b * c + x", c(a = 3, b = 4, c = 5)), 121)
  expect_identical(count("y ~ 0 + a + x", c(a = 3)), 4)
  expect_error(count("y ~ a * b * c", c(a = 30, b = 4, c = 5)),
               "the model would have 930 columns (every level of each factor counted); a site fits at most 200",
               fixed = TRUE)
  # 60 columns to the third order: refused while expanding, in well under a second
  wide <- paste0("y ~ (", paste0("x", 1:60, collapse = " + "), ")^3")
  expect_error(parse(wide), "expands to more than 200 terms")
  malicious <- paste0("y ~ (", paste0("I(x+", 1:60, ")", collapse = " + "), ")^10")
  expect_error(parse(malicious), "a whole number from 1 to 3")
})

test_that("a binomial outcome coded as a factor 0/1 or 1/2 (as Opal assigns it) equals glm()", {
  conns <- rows_federation()
  all <- pooled(conns)
  numeric <- ds.mheGLM(status ~ age + income, family = "binomial", datasources = conns)
  expect_glm_equal(numeric, glm_pooled(status ~ age + income, "binomial", conns))
  coded <- ds.mheGLM(status_f12 ~ age + income, family = "binomial", datasources = conns)
  expect_glm_equal(coded, glm_pooled(status_f12 ~ age + income, "binomial", conns))
  expect_equal(coded$coefficients, numeric$coefficients, tolerance = 1e-9)
})

test_that("bad arguments give input errors naming the problem", {
  conns <- glm_federation("cnsim")
  expect_error(ds.mheGLM(LAB_TSC ~ LAB_HDL, family = "Gamma", datasources = conns),
               class = "dsMHE_error_input")
  expect_error(ds.mheGLM(LAB_TSC ~ LAB_HDL, family = stats::binomial("probit"), datasources = conns),
               "canonical link")
  expect_error(ds.mheGLM(LAB_TSC ~ LAB_HDL, maxit = 0, datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheGLM(LAB_TSC ~ LAB_HDL, data = "D$x", datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheGLM(LAB_TSC ~ LAB_HDL, weights = "a b", datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheGLM(LAB_TSC ~ NOPE, datasources = conns), "sim1: `D` has no column `NOPE`")
  expect_error(ds.mheGLM(LAB_TSC ~ LAB_HDL, weights = "NOPE", datasources = conns), "has no column `NOPE`")
  expect_error(ds.mheGLM(GENDER ~ LAB_HDL, datasources = conns), "must be numeric for the gaussian family")
  expect_error(ds.mheGLM(LAB_TSC ~ log(GENDER), datasources = conns), "is categorical")
})

test_that("the least-squares solve aliases collinear columns as glm() does", {
  set.seed(3)
  x <- cbind(1, rnorm(50), 0, rnorm(50))
  x[, 3] <- 2 * x[, 2] - x[, 1]
  y <- rnorm(50)
  solve <- dsMHE:::mhe_glm_solve(crossprod(x), drop(crossprod(x, y)))
  expected <- stats::lm.fit(x, y)
  expect_identical(solve$aliased, unname(is.na(expected$coefficients)))
  expect_equal(solve$beta[!solve$aliased], unname(expected$coefficients[!solve$aliased]), tolerance = 1e-10)
})
