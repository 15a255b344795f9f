test_that("the pooled variance equals base R on the row-bound data", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  result <- ds.mheVar("D$LAB_TRIG", datasources = conns)
  expect_rel_equal(result$var, var(all$LAB_TRIG, na.rm = TRUE))
  expect_rel_equal(result$mean, mean(all$LAB_TRIG, na.rm = TRUE))
  expect_identical(result$n, sum(!is.na(all$LAB_TRIG)))

  ten <- federation("ten")
  result <- ds.mheVar("D$bmi", datasources = ten)
  expect_rel_equal(result$var, var(pooled(ten)$bmi, na.rm = TRUE))
})

test_that("the variance round refuses a malformed mean", {
  conns <- federation("cnsim")
  query <- dsMHE:::rs_random_id()
  expect_error(DSI::datashield.aggregate(
    conns, call("mheVarDS", "D$LAB_TRIG", "1.5", query = query, sites = "sim1,sim2,sim3")
  ))
  expect_match(unlist(DSI::datashield.errors()), "`mean` must be doubles as comma-separated hex")
  expect_rel_equal(ds.mheVar("D$LAB_TRIG", datasources = conns)$var,
                   var(pooled(conns)$LAB_TRIG, na.rm = TRUE))
})
