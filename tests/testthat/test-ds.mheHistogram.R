# Counts a site contributes over `breaks`: hist()'s cells (right-closed, the
# lowest included), values outside left out, small ones set to 0.
site_counts <- function(x, breaks, nfilter = 3) {
  x <- x[!is.na(x)]
  cell <- findInterval(x, dsMHE:::srv_hist_fuzz(breaks), left.open = TRUE, rightmost.closed = TRUE)
  counts <- tabulate(cell[cell >= 1 & cell < length(breaks)], nbins = length(breaks) - 1L)
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

test_that("chosen breaks span every value held by enough rows, and counts match hist() with suppression", {
  conns <- federation("ten")
  result <- suppressMessages(ds.mheHistogram("D$age", datasources = conns))
  # the breaks span the range grid's cells where some site has >= nfilter.tab
  # values: the few extreme values of each site are not located
  inside <- unlist(lapply(attr(conns, "data"), function(d) {
    a <- d$age[!is.na(d$age)]
    a >= result$breaks[1] & a <= result$breaks[length(result$breaks)]
  }))
  expect_gt(mean(inside), 0.98)
  expected <- Reduce(`+`, lapply(attr(conns, "data"), function(d) site_counts(d$age, result$breaks)))
  expect_identical(result$counts, as.integer(expected))
  expect_equal(sum(result$density * diff(result$breaks)), 1)
  expect_no_error(grDevices::pdf(NULL))
  expect_no_error(plot(result))
  grDevices::dev.off()
})

test_that("a site refuses more cells than its rows can fill, naming the limit", {
  conns <- federation("ten")
  # s01 has 129 valid ages: at most 43 cells
  err <- expect_error(ds.mheHistogram("D$age", breaks = seq(0, 100, length.out = 61),
                                      datasources = conns), class = "dsMHE_error_refused")
  expect_match(conditionMessage(err), "s01: refused: nfilter.tab: the histogram has 60 cells; at most n / nfilter.tab = 43 here")
  expect_error(ds.mheHistogram("D$age", breaks = seq(0, 100, length.out = 1002), datasources = conns),
               class = "dsMHE_error_input")
})

test_that("suppressed cells are reported", {
  conns <- federation("cnsim")
  expect_message(ds.mheHistogram("D$LAB_TSC", datasources = conns), class = "dsMHE_message_suppressed")
})
