test_that("pooled correlation over complete cases equals cor() on the row-bound data", {
  conns <- federation("cnsim")
  vars <- c("LAB_TSC", "LAB_TRIG", "LAB_HDL")
  all <- pooled(conns)[vars]
  cc <- all[stats::complete.cases(all), ]
  result <- ds.mheCor(paste0("D$", vars), datasources = conns)
  expect_rel_equal(result$cor, cor(cc))
  expect_rel_equal(result$cov, cov(cc))
  expect_rel_equal(result$means, colMeans(cc))
  expect_identical(result$n, nrow(cc))
})

test_that("a data frame name correlates all its columns (10 sites)", {
  data <- lapply(ten_site_data(), function(d) d[c("age", "bmi", "sbp")])
  conns <- federation("ten")
  all <- pooled(conns)[c("age", "bmi", "sbp")]
  cc <- all[stats::complete.cases(all), ]
  result <- ds.mheCor(c("D$age", "D$bmi", "D$sbp"), datasources = conns)
  expect_rel_equal(result$cor, cor(cc))
  expect_identical(result$n, nrow(cc))
  err <- expect_error(ds.mheCor("D", datasources = conns), class = "dsMHE_error")
  expect_match(conditionMessage(err), "must be numeric, not a factor")
})
