# Values packed to their width (issue 16): counts travel at the width their
# range needs, and the pooled values stay exact.

pool_and_combine <- function(fed, blobs) {
  pool <- dsMHE:::rs_pool(unname(blobs), names(fed$parties))
  shares <- lapply(fed$parties, dsMHE:::rs_party_decrypt, request = pool$request)
  dsMHE:::rs_combine(pool$pooled, unname(shares))
}

test_that("counts declared at their width travel in fewer bytes and pool exactly", {
  sites <- c("a", "b", "c")
  fed <- local_federation(sites)
  counts <- list(a = c(0, 1, 2^31 - 1, 17), b = c(5, 0, 2^31 - 1, 3), c = c(9, 8, 0, 2^30))
  contribute <- function(query, widths) {
    lapply(sites, function(s) {
      dsMHE:::rs_party_contribute(fed$parties[[s]], query, "table", "D$x", "D$x", sites,
                                  counts[[s]], widths)
    })
  }
  width <- dsMHE:::mhe_count_width(length(sites))
  expect_identical(width, 34L)
  narrow <- contribute(dsMHE:::rs_random_id(), width)
  full <- contribute(dsMHE:::rs_random_id(), integer())
  expect_lt(length(narrow[[1]]), length(full[[1]]))
  truth <- Reduce(`+`, counts)
  expect_identical(pool_and_combine(fed, narrow), truth)
  expect_identical(pool_and_combine(fed, full), truth)
})

test_that("a mean's counts travel at the count width and a long table shrinks", {
  sites <- c("a", "b", "c")
  fed <- local_federation(sites)
  layout <- dsMHE:::mhe_layout("mean")
  widths <- dsMHE:::mhe_layout_widths(layout, length(sites))
  expect_identical(widths, c(NA, 34L, 34L))
  values <- list(a = c(12.25, 3, 1), b = c(-0.5, 2, 0), c = c(1e6 + 1 / 3, 7, 2))
  q <- dsMHE:::rs_random_id()
  blobs <- lapply(sites, function(s) {
    dsMHE:::rs_party_contribute(fed$parties[[s]], q, "mean", "D$x", "D$x", sites,
                                values[[s]], widths)
  })
  pooled <- pool_and_combine(fed, blobs)
  expect_identical(pooled[2:3], c(12, 3))
  expect_equal(pooled[1], 12.25 - 0.5 + 1e6 + 1 / 3, tolerance = 1e-12)
  # 2000 counts: 5 coefficients each under `default` instead of 16.
  many <- as.double(seq_len(2000))
  size <- function(w) {
    length(dsMHE:::rs_party_contribute(fed$parties$a, dsMHE:::rs_random_id(), "table", "D$x",
                                       "D$x", sites, many, w))
  }
  expect_lt(size(34L), size(integer()) / 3)
})

test_that("a count beyond its width, a fraction or mixed layouts are refused", {
  sites <- c("a", "b")
  fed <- local_federation(sites)
  q <- dsMHE:::rs_random_id()
  contribute <- function(site, values, widths, query = q) {
    dsMHE:::rs_party_contribute(fed$parties[[site]], query, "table", "D$x", "D$x", sites,
                                values, widths)
  }
  # 34 bits at 2 sites: a site's count must be below 2^32.
  expect_error(dsMHE:::rs_call(contribute("a", c(1, 2^32), 34L)), "value 2 is out of range")
  expect_error(dsMHE:::rs_call(contribute("a", c(1.5, 2), 34L)), "whole number")
  expect_error(dsMHE:::rs_call(contribute("a", c(1, 2), c(34L, 34L, 34L))), "3 widths for 2")
  expect_error(dsMHE:::rs_call(contribute("a", c(1, 2), 1L)), "2 to 127 bits")
  blobs <- list(contribute("a", c(1, 2), 34L), contribute("b", c(1, 2), c(34L, NA)))
  expect_error(dsMHE:::rs_call(dsMHE:::rs_pool(blobs, sites)), "other widths")
})
