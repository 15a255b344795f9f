test_that("pooled one-way and two-way tables equal table() on the row-bound data", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  one <- ds.mheTable("D$PM_BMI_CATEGORICAL", datasources = conns)
  expect_identical(as.vector(one$table), as.vector(table(all$PM_BMI_CATEGORICAL)))
  expect_identical(dimnames(one$table)[[1]], c("1", "2", "3"))
  expect_identical(one$n, sum(!is.na(all$PM_BMI_CATEGORICAL)))

  two <- ds.mheTable("D$GENDER", "D$DIS_DIAB", datasources = conns)
  expected <- table(all$GENDER, all$DIS_DIAB)
  expect_identical(as.vector(two$table), as.vector(expected))
  expect_identical(dim(two$table), dim(expected))
  expect_s3_class(two$table, "table")
})

test_that("tables of factors with missing values match over 10 sites", {
  conns <- federation("ten")
  all <- pooled(conns)
  result <- ds.mheTable("D$sex", "D$group", datasources = conns)
  expected <- table(all$sex, all$group)
  expect_identical(dimnames(result$table)[[1]], levels(all$sex))
  expect_identical(dimnames(result$table)[[2]], levels(all$group))
  expect_identical(as.vector(result$table), as.vector(expected))
  expect_identical(dim(result$table), dim(expected))
  expect_identical(result$n, sum(expected))
})

test_that("a site with a small nonzero cell refuses", {
  conns <- federation("ten")
  err <- expect_error(ds.mheTable("D$rare", "D$sex", datasources = conns), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "s05: refused: nfilter.tab: a cell of the table")
  expect_false(grepl("s04", conditionMessage(err)))
  expect_snapshot(ds.mheTable("D$rare", datasources = conns), error = TRUE)
  expect_identical(ds.mheTable("D$group", datasources = conns)$n, nrow(pooled(conns)))
})

test_that("levels that are values must each be frequent enough", {
  conns <- federation("ten")
  err <- expect_error(ds.mheTable("D$tiny", datasources = conns[c("s01", "s02")]),
                      class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "s01: refused: nfilter[.a-z]*: ")
  expect_error(ds.mheTable("D$age", datasources = conns), "must be a factor, character, logical or whole-number")
  label <- ds.mheTable("D$label", datasources = conns)
  expect_identical(as.vector(label$table), nrow(pooled(conns)))
})
