# mhe_run() hands each statistic an explicit run context (R/client-query.R).

test_that("a statistic receives a run context with its sites and no site skipped", {
  conns <- federation("cnsim")
  run <- dsMHE:::mhe_run(conns, function(run, call) run)
  expect_s3_class(run, "mhe_run_context")
  expect_identical(names(run$conns), names(conns))
  expect_identical(run$skip, character())
  expect_identical(attr(run, "sites"), names(conns))
})

test_that("rounds inside a statistic use its context and cannot start another run", {
  conns <- federation("cnsim")
  inner <- function(run, call) dsMHE:::mhe_run(run, function(run, call) run, call = call)
  expect_error(dsMHE:::mhe_run(conns, inner), class = "dsMHE_error_internal")
  v <- dsMHE:::mhe_run(conns, function(run, call) {
    dsMHE:::mhe_query(run, "mheMeanDS", list("D$LAB_TSC"), call = call)
  })
  v <- dsMHE:::mhe_unpack(dsMHE:::mhe_layout("mean"), v, NULL)
  expect_rel_equal(v$sum / v$n, mean(pooled(conns)$LAB_TSC, na.rm = TRUE))
})

test_that("the package keeps no state for runs: its only environment is the session cache", {
  ns <- asNamespace("dsMHE")
  envs <- Filter(function(n) is.environment(ns[[n]]), ls(ns, all.names = TRUE))
  expect_setequal(envs, c(".__NAMESPACE__.", ".__S3MethodsTable__.", "mhe_cache"))
})
