# Counts a site contributes over `breaks`: hist()'s cells, small ones set to 0.
site_counts <- function(x, breaks, nfilter = 3) {
  counts <- graphics::hist(x[!is.na(x)], breaks = breaks, plot = FALSE)$counts
  counts[counts > 0 & counts < nfilter] <- 0L
  counts
}

test_that("with given breaks the pooled histogram equals hist() with dsBase suppression", {
  conns <- federation("cnsim")
  breaks <- seq(0, 16, by = 1)
  result <- ds.mheHistogram("D$LAB_TSC", breaks = breaks, datasources = conns)
  expect_s3_class(result, "histogram")
  expected <- Reduce(`+`, lapply(attr(conns, "data"), function(d) site_counts(d$LAB_TSC, breaks)))
  expect_identical(result$counts, as.integer(expected))
  reference <- graphics::hist(pooled(conns)$LAB_TSC, breaks = breaks, plot = FALSE)
  expect_equal(result$mids, reference$mids)
  expect_true(result$equidist)
})

test_that("chosen breaks span the data and counts match hist() with suppression", {
  conns <- federation("ten")
  result <- suppressMessages(ds.mheHistogram("D$age", datasources = conns))
  all <- pooled(conns)$age
  expect_lte(result$breaks[1], min(all, na.rm = TRUE))
  expect_gte(result$breaks[length(result$breaks)], max(all, na.rm = TRUE))
  expected <- Reduce(`+`, lapply(attr(conns, "data"), function(d) site_counts(d$age, result$breaks)))
  expect_identical(result$counts, as.integer(expected))
  expect_equal(sum(result$density * diff(result$breaks)), 1)
  expect_no_error(grDevices::pdf(NULL))
  expect_no_error(plot(result))
  grDevices::dev.off()
})

test_that("suppressed cells are reported", {
  conns <- federation("cnsim")
  expect_message(ds.mheHistogram("D$LAB_TSC", datasources = conns), class = "dsMHE_message_suppressed")
})
