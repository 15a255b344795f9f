test_that("doubles travel exactly as hex", {
  x <- c(pi, -1e-300, 1e300, 0, 2^-1074, 123456789.123456789)
  text <- dsMHE:::mhe_dbl_encode(x)
  expect_match(text, "^[0-9a-f,]+$")
  expect_identical(dsMHE:::mhe_dbl_decode(text), x)
})

test_that("chunks are multiples of 4 characters and reassemble", {
  text <- paste(rep("AbCd", 2501), collapse = "")
  chunks <- dsMHE:::mhe_chunks(text, size = 1000)
  expect_true(all(nchar(chunks[-length(chunks)]) == 1000))
  expect_identical(paste(chunks, collapse = ""), text)
  old <- options(mhe.chunk.size = 1002)
  on.exit(options(old))
  expect_identical(dsMHE:::mhe_chunk_size(), 1000L)
})

test_that("disclosure settings follow dsBase's order", {
  old <- options(nfilter.tab = NULL, default.nfilter.tab = NULL)
  on.exit(options(old))
  expect_identical(dsMHE:::mhe_nfilter("nfilter.tab"), 3)
  options(default.nfilter.tab = 5)
  expect_identical(dsMHE:::mhe_nfilter("nfilter.tab"), 5)
  options(nfilter.tab = 7)
  expect_identical(dsMHE:::mhe_nfilter("nfilter.tab"), 7)
  expect_identical(dsMHE:::mhe_nfilter("nfilter.levels.max"), 40)
})

test_that("DSLite declares the methods and options of inst/DATASHIELD", {
  config <- DSLite::defaultDSConfiguration(include = "dsMHE")
  expect_true(all(c("mheMeanDS", "mheDecryptDS", "mheUploadDS") %in% config$AggregateMethods$name))
  expect_identical(as.character(config$AssignMethods$name), "mheInitDS")
  expect_identical(config$Options$mhe.min.parties, "2")
  expect_identical(config$Options$default.nfilter.tab, "3")
})

test_that("server-side variable resolution accepts only names", {
  env <- new.env()
  env$D <- data.frame(a = 1:5, f = factor(letters[1:5]))
  expect_identical(dsMHE:::srv_numeric("D$a", env, "s1"), as.double(1:5))
  expect_error(dsMHE:::srv_numeric("D$f", env, "s1"), "s1: `D\\$f` must be numeric, not a factor")
  expect_error(dsMHE:::srv_object("D[1]", env, "s1"), class = "dsMHE_error_input")
  expect_error(dsMHE:::srv_object("system('ls')", env, "s1"), "must be a variable name")
  expect_error(dsMHE:::srv_object("D$b", env, "s1"), "has no column `b`")
})

test_that("Rust errors become classed R errors", {
  err <- expect_error(dsMHE:::rs_call(dsMHE:::rs_b64_decode("a/b")), class = "dsMHE_error")
  refused <- structure(list(value = list(message = "a replay", kind = "replay")),
                       class = "extendr_error")
  expect_error(dsMHE:::rs_call(refused, site = "s9"), "s9: refused: a replay",
               class = "dsMHE_error_refused_replay")
})

test_that("the bindings refuse external pointers they did not make, without crashing", {
  # extendr's own conversion would read a foreign pointer's address as its own
  # boxed value; the bindings check the pointer's tag first.
  foreign <- list(
    getNativeSymbolInfo("wrap__rs_random_id", "dsMHE")$address,
    new("externalptr")
  )
  for (p in foreign) {
    expect_error(dsMHE:::rs_call(dsMHE:::rs_party_fingerprint(p)), "not a dsMHE party",
                 class = "dsMHE_error")
    expect_error(dsMHE:::rs_call(dsMHE:::rs_party_identity(p)), "not a dsMHE party")
  }
})
