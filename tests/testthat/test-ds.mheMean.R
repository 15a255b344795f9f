test_that("the pooled mean equals base R on the row-bound data (3 sites)", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  for (x in c("LAB_TSC", "LAB_HDL", "PM_BMI_CONTINUOUS")) {
    result <- ds.mheMean(paste0("D$", x), datasources = conns)
    expect_rel_equal(result$mean, mean(all[[x]], na.rm = TRUE))
    expect_identical(result$n, sum(!is.na(all[[x]])))
    expect_identical(result$n_missing, sum(is.na(all[[x]])))
  }
})

test_that("the pooled mean equals base R on the row-bound data (10 sites)", {
  conns <- federation("ten")
  all <- pooled(conns)
  result <- ds.mheMean("D$age", datasources = conns)
  expect_rel_equal(result$mean, mean(all$age, na.rm = TRUE))
  expect_identical(result$n, sum(!is.na(all$age)))
  expect_identical(result$n_missing, sum(is.na(all$age)))
})

test_that("a site with fewer valid values than nfilter.tab contributes nothing, never an error", {
  conns <- federation("ten")
  all <- pooled(conns)
  # s03 holds 2 valid values of `tiny`: they count as missing, so that no
  # answer depends on whether one more row there is valid
  result <- ds.mheMean("D$tiny", datasources = conns)
  kept <- do.call(rbind, unname(attr(conns, "data")[names(conns) != "s03"]))
  expect_rel_equal(result$mean, mean(kept$tiny, na.rm = TRUE))
  expect_identical(result$n, sum(!is.na(kept$tiny)))
  expect_identical(result$n_missing, nrow(all) - sum(!is.na(kept$tiny)))
  expect_identical(ds.mheMean("D$age", datasources = conns)$n, sum(!is.na(all$age)))
})

test_that("a site applies its admin's nfilter.tab over the package default", {
  conns <- federation("ten")
  old <- options(nfilter.tab = 11)
  on.exit(options(old))
  # every site holds at most 10 valid values of `tiny`: none contributes
  result <- ds.mheMean("D$tiny", datasources = conns)
  expect_identical(result$n, 0L)
  expect_identical(result$n_missing, nrow(pooled(conns)))
  options(old)
  expect_identical(ds.mheMean("D$age", datasources = conns)$n, sum(!is.na(pooled(conns)$age)))
})

test_that("bad variables give a clear error naming the sites, and the session survives", {
  conns <- federation("cnsim")
  err <- expect_error(ds.mheMean("D$NOT_THERE", datasources = conns), class = "dsMHE_error")
  expect_match(conditionMessage(err), "sim1: `D` has no column `NOT_THERE`", fixed = TRUE)
  expect_match(conditionMessage(err), "sim3", fixed = TRUE)
  expect_error(ds.mheMean("E$LAB_TSC", datasources = conns), "object `E` does not exist")
  expect_snapshot(ds.mheMean("D$NOT_THERE", datasources = conns), error = TRUE)
  expect_error(ds.mheMean("D$age; q()", datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheMean(c("D$LAB_TSC", "D$LAB_HDL"), datasources = conns), class = "dsMHE_error_input")
  expect_error(ds.mheMean("D$sex", datasources = federation("ten")), "must be numeric, not a factor")
  expect_rel_equal(ds.mheMean("D$LAB_TSC", datasources = conns)$mean,
                   mean(pooled(conns)$LAB_TSC, na.rm = TRUE))
})

test_that("a query before setup is refused at the client and at the sites", {
  conns <- fresh_federation(setup = FALSE)
  expect_error(ds.mheMean("D$LAB_TSC", datasources = conns), class = "dsMHE_error_setup")
  expect_error(ds.mheAudit(datasources = conns), class = "dsMHE_error_setup")
  query <- dsMHE:::rs_random_id()
  expect_error(DSI::datashield.aggregate(conns, call("mheMeanDS", "D$LAB_TSC", query, "sim1,sim2,sim3")))
  errors <- DSI::datashield.errors()
  expect_named(errors, names(conns))
  expect_match(unlist(errors), "call `ds.mheSetup()` first", fixed = TRUE)
})
