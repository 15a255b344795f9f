# dsBaseClient's `type` argument: "combine" pools (the default), "split" is
# refused with the reason.

test_that("type = \"combine\" and its dsBase spellings give the pooled result", {
  conns <- federation("cnsim")
  all <- pooled(conns)
  expected <- mean(all$LAB_TSC, na.rm = TRUE)
  for (type in c("combine", "combined", "c")) {
    expect_rel_equal(ds.mheMean("D$LAB_TSC", datasources = conns, type = type)$mean, expected)
  }
  expect_rel_equal(ds.mheVar("D$LAB_TSC", conns, type = "combine")$var, stats::var(all$LAB_TSC, na.rm = TRUE))
  cor <- ds.mheCor(c("D$LAB_TSC", "D$LAB_HDL"), conns, type = "combine")
  expect_rel_equal(cor$cor[1, 2], stats::cor(all$LAB_TSC, all$LAB_HDL, use = "complete.obs"))
  breaks <- c(0, 4, 6, 8, 20)
  h <- ds.mheHistogram("D$LAB_TSC", breaks = breaks, datasources = conns, type = "combine")
  expect_identical(as.integer(h$counts), as.integer(graphics::hist(all$LAB_TSC, breaks, plot = FALSE)$counts))
})

test_that("type = \"split\" is refused before any call, saying why and what to do instead", {
  conns <- federation("cnsim")
  before <- length(opal_recorder$calls)
  calls <- list(
    quote(ds.mheMean("D$LAB_TSC", datasources = conns, type = "split")),
    quote(ds.mheVar("D$LAB_TSC", datasources = conns, type = "split")),
    quote(ds.mheCor(c("D$LAB_TSC", "D$LAB_HDL"), datasources = conns, type = "split")),
    quote(ds.mheHistogram("D$LAB_TSC", datasources = conns, type = "s")),
    quote(ds.mheMean("D$LAB_TSC", datasources = conns, type = "both"))
  )
  for (cl in calls) {
    e <- expect_error(eval(cl), class = "dsMHE_error_split")
    expect_s3_class(e, "dsMHE_error_input")
    expect_match(conditionMessage(e), "exactly what dsMHE exists not to reveal", fixed = TRUE)
    expect_match(conditionMessage(e), "type = \"combine\"", fixed = TRUE)
  }
  expect_identical(length(opal_recorder$calls), before)
  expect_snapshot(ds.mheMean("D$LAB_TSC", datasources = conns, type = "split"), error = TRUE)
})

test_that("an unknown type is an input error naming the argument", {
  conns <- federation("cnsim")
  expect_error(ds.mheMean("D$LAB_TSC", datasources = conns, type = "pooled"),
               class = "dsMHE_error_input")
  expect_error(ds.mheVar("D$LAB_TSC", datasources = conns, type = NA_character_),
               class = "dsMHE_error_input")
  e <- expect_error(ds.mheCor("D", datasources = conns, type = c("combine", "split")),
                    class = "dsMHE_error_input")
  expect_false(inherits(e, "dsMHE_error_split"))
  expect_match(conditionMessage(e), "`type` must be \"combine\"", fixed = TRUE)
})

test_that("type comes after the contract's arguments", {
  for (fn in c("ds.mheMean", "ds.mheVar", "ds.mheCor", "ds.mheHistogram")) {
    args <- names(formals(getExportedValue("dsMHE", fn)))
    expect_gt(match("type", args), match("datasources", args), label = fn)
    expect_identical(formals(getExportedValue("dsMHE", fn))$type, "combine", label = fn)
  }
})
