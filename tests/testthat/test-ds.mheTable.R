test_that("pooled one-way and two-way tables equal table() on the row-bound data", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  one <- ds.mheTable("D$PM_BMI_CATEGORICAL", datasources = conns, useNA = "no")
  expect_s3_class(one, "mhe_table")
  expect_identical(as.vector(one$table), as.vector(table(all$PM_BMI_CATEGORICAL)))
  expect_identical(dimnames(one$table)[[1]], c("1", "2", "3"))
  expect_identical(one$n, sum(!is.na(all$PM_BMI_CATEGORICAL)))
  expect_null(one$chisq)

  two <- ds.mheTable("D$GENDER", "D$DIS_DIAB", datasources = conns, useNA = "no")
  expected <- table(all$GENDER, all$DIS_DIAB)
  expect_identical(as.vector(two$table), as.vector(expected))
  expect_identical(dim(two$table), dim(expected))
  expect_s3_class(two$table, "table")
})

test_that("useNA counts missing values in their own slot, as table() and ds.table's default", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  one <- ds.mheTable("D$PM_BMI_CATEGORICAL", datasources = conns)
  expected <- table(all$PM_BMI_CATEGORICAL, useNA = "ifany")
  expect_identical(as.vector(one$table), as.vector(expected))
  expect_identical(dimnames(one$table)[[1]], c("1", "2", "3", NA))
  expect_identical(one$Nvalid, sum(!is.na(all$PM_BMI_CATEGORICAL)))
  expect_identical(one$Nmissing, sum(is.na(all$PM_BMI_CATEGORICAL)))
  expect_identical(one$Ntotal, nrow(all))
  expect_identical(one$n, nrow(all))

  always <- ds.mheTable("D$GENDER", "D$DIS_DIAB", datasources = conns, useNA = "always")
  expected <- table(all$GENDER, all$DIS_DIAB, useNA = "always")
  expect_identical(as.vector(always$table), as.vector(expected))
  expect_identical(dim(always$table), dim(expected))
  expect_identical(always$Ntotal, nrow(all))
  expect_identical(always$Nvalid, sum(!is.na(all$GENDER) & !is.na(all$DIS_DIAB)))
  ifany <- ds.mheTable("D$GENDER", "D$DIS_DIAB", datasources = conns)
  expect_identical(dim(ifany$table), dim(table(all$GENDER, all$DIS_DIAB, useNA = "ifany")))
  expect_error(ds.mheTable("D$GENDER", datasources = conns, useNA = "sometimes"))
  expect_error(ds.mheTable("D$GENDER", datasources = conns, exclude = NA))
})

test_that("a two-way table carries chisq.test() of the pooled table", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  two <- ds.mheTable("D$GENDER", "D$PM_BMI_CATEGORICAL", datasources = conns)
  expected <- stats::chisq.test(table(all$GENDER, all$PM_BMI_CATEGORICAL))
  expect_s3_class(two$chisq, "htest")
  expect_equal(unname(two$chisq$statistic), unname(expected$statistic), tolerance = 1e-12)
  expect_identical(unname(two$chisq$parameter), unname(expected$parameter))
  expect_equal(two$chisq$p.value, expected$p.value, tolerance = 1e-12)
})

test_that("tables of factors with missing values match over 10 sites", {
  conns <- federation("ten")
  all <- pooled(conns)
  result <- ds.mheTable("D$sex", "D$group", datasources = conns, useNA = "no")
  expected <- table(all$sex, all$group)
  expect_identical(dimnames(result$table)[[1]], levels(all$sex))
  expect_identical(dimnames(result$table)[[2]], levels(all$group))
  expect_identical(as.vector(result$table), as.vector(expected))
  expect_identical(dim(result$table), dim(expected))
  expect_identical(result$n, sum(expected))
  # missing values count in their own slot, zeroed where a site holds 1 or 2
  full <- Reduce(`+`, lapply(attr(conns, "data"), function(d) {
    zero_small(table(d$sex, d$group, useNA = "always"))
  }))
  expect_identical(result$Nmissing, as.integer(sum(full) - sum(full[1:2, 1:3])))
  expect_identical(result$Ntotal, as.integer(sum(full)))
})

test_that("a site sets a small nonzero cell to 0 instead of refusing", {
  conns <- federation("ten")
  # s05 holds one `rare` "z": its cell is zeroed, the row stays counted nowhere
  result <- ds.mheTable("D$rare", "D$sex", datasources = conns, useNA = "no")
  expected <- Reduce(`+`, lapply(attr(conns, "data"), function(d) {
    zero_small(table(d$rare, d$sex))
  }))
  expect_identical(as.vector(result$table), as.integer(expected))
  expect_identical(sum(result$table["z", ]), 0L)
  one <- ds.mheTable("D$rare", datasources = conns, useNA = "no")
  expect_identical(as.vector(one$table), c(nrow(pooled(conns)) - 1L, 0L))
  expect_identical(ds.mheTable("D$group", datasources = conns)$n, nrow(pooled(conns)))
})

test_that("levels that are values are those held by nfilter.tab rows; the others are counted as other", {
  conns <- federation("ten")
  # every value of `tiny` is held by one row at s01 and s02: no levels, and a
  # level list naming one of them is answered (that row's cell is zeroed, the
  # other nine rows are counted as other), not refused
  levels <- DSI::datashield.aggregate(conns[c("s01", "s02")], call("mheLevelsDS", "D$tiny"))
  expect_identical(levels$s01$levels, character())
  expect_identical(levels$s02$levels, character())
  expr <- call("mheTableDS", rvar = "D$tiny", rlevels = dsMHE:::mhe_levels_encode("1"),
               query = dsMHE:::rs_random_id(), sites = paste(names(conns), collapse = ","))
  blobs <- DSI::datashield.aggregate(conns[c("s01", "s02")], expr)
  expect_true(all(vapply(blobs, is.raw, TRUE)))
  expect_error(ds.mheTable("D$age", datasources = conns), "must be a factor, character, logical or whole-number")
  label <- ds.mheTable("D$label", datasources = conns, useNA = "no")
  expect_identical(as.vector(label$table), nrow(pooled(conns)))
})

test_that("a factor coded 0/1 (as Opal assigns it) tabulates as its numeric codes do", {
  conns <- rows_federation()
  all <- pooled(conns)
  coded <- ds.mheTable("D$coded", "D$event", datasources = conns, useNA = "no")
  expected <- table(all$coded, all$event)
  expect_identical(as.vector(coded$table), as.vector(expected))
  expect_identical(dimnames(coded$table), list(`D$coded` = c("0", "1"), `D$event` = c("0", "1")))
  expect_equal(unname(coded$chisq$statistic), unname(stats::chisq.test(expected)$statistic),
               tolerance = 1e-12)
})
