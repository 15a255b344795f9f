test_that("a packed aggregate unpacks to the same fields on the other side", {
  layout <- dsMHE:::mhe_layout("histogram-counts", cells = 3L)
  v <- dsMHE:::mhe_pack(layout, under = 2, cells = c(10, 0, 7), over = 1, suppressed = 1)
  expect_identical(v, c(2, 10, 0, 7, 1, 1))
  expect_identical(
    dsMHE:::mhe_unpack(layout, v, NULL),
    list(under = 2, cells = c(10, 0, 7), over = 1, suppressed = 1)
  )
  cor <- dsMHE:::mhe_layout("cor-cross", p = 2L)
  cross <- as.vector(crossprod(matrix(c(1, -1, 2, 0.5), 2)))
  fields <- dsMHE:::mhe_unpack(cor, dsMHE:::mhe_pack(cor, cross = cross, n = 2), NULL)
  expect_identical(fields$cross, cross)
  expect_identical(fields$n, 2)
})

test_that("the server's mean aggregate is read by the client's layout of the same name", {
  env <- new.env()
  env$D <- data.frame(x = c(1:12, NA, NA))
  old <- options(nfilter.tab = 3, default.nfilter.tab = 3)
  on.exit(options(old))
  v <- dsMHE:::srv_mean("D$x", env, "site1")
  fields <- dsMHE:::mhe_unpack(dsMHE:::mhe_layout("mean"), v, NULL)
  expect_identical(fields, list(sum = sum(1:12) + 0, n = 12, missing = 2))
})

test_that("a pooled vector of the wrong length is an error, not a shifted read", {
  layout <- dsMHE:::mhe_layout("mean")
  err <- expect_error(dsMHE:::mhe_unpack(layout, c(1, 2), NULL), class = "dsMHE_error_server")
  expect_match(conditionMessage(err), "2 pooled values.*3 expected")
  expect_error(dsMHE:::mhe_unpack(dsMHE:::mhe_layout("cor-means", p = 3L), 1:4, NULL),
               class = "dsMHE_error_server")
})

test_that("packing refuses fields that do not match the layout", {
  layout <- dsMHE:::mhe_layout("ss")
  expect_error(dsMHE:::mhe_pack(layout, ss = 1), "do not match the layout of ss")
  expect_error(dsMHE:::mhe_pack(layout, n = 1, ss = 1), "do not match")
  expect_error(dsMHE:::mhe_pack(layout, ss = c(1, 2), n = 1), "do not match")
  expect_error(dsMHE:::mhe_layout("median"), "unknown aggregate layout")
})

test_that("a GLM round packed at a site unpacks to its normal equations and scalars", {
  scalars <- as.list(stats::setNames(seq_along(dsMHE:::mhe_glm_scalars) / 10, dsMHE:::mhe_glm_scalars))
  layout <- dsMHE:::mhe_layout("glm", p = 2L, cells = 3L)
  xwx <- matrix(c(4, 1, 1, 3), 2)
  v <- do.call(dsMHE:::mhe_pack, c(list(layout, xwx = xwx[upper.tri(xwx, diag = TRUE)], xwz = c(5, 6)),
                                    scalars, list(counts = c(7, 0, 9))))
  expect_length(v, 3L + 2L + length(scalars) + 3L)
  round <- dsMHE:::mhe_glm_unpack(v, 2L, cells = 3L, call = NULL)
  expect_identical(round$A, xwx)
  expect_identical(round$b, c(5, 6))
  expect_identical(round[names(scalars)], scalars)
  expect_identical(round$counts, c(7, 0, 9))
  expect_error(dsMHE:::mhe_glm_unpack(v, 2L, cells = 2L, call = NULL), class = "dsMHE_error_server")
})
