# Every call a test sends to a DSLite server is checked against the rules of
# Opal's parser as it is sent (helper-opal-rules.R, DESIGN.md "DataSHIELD
# transport rules"); these tests show that the check runs and what it catches.

# A stand-in for a DSLiteServer: an environment with the two methods the
# recorder wraps, each returning the expression it was given.
opal_fake_server <- function() {
  server <- new.env()
  server$aggregate <- function(sid, expr) expr
  server$assignExpr <- function(sid, symbol, expr) expr
  opal_record_server(server, "fake")
}

test_that("the recorder fails the test that sends a call Opal refuses", {
  server <- opal_fake_server()
  mark <- length(opal_recorder$calls)
  expect_failure(server$aggregate("sid", call("mheMeanDS", call("c", "a"))), "nested call")
  expect_failure(server$assignExpr("sid", "y", call("mheMeanDS", "a b")), "not a declared assign")
  expect_failure(server$aggregate("sid", call("mean", "D$x")), "not a declared aggregate")
  expect_identical(length(opal_recorder$calls), mark + 3L)
})

test_that("the recorder passes a call Opal accepts and records it", {
  server <- opal_fake_server()
  mark <- length(opal_recorder$calls)
  expect_success(expect_identical(
    server$aggregate("sid", call("mheMeanDS", "D$x")), call("mheMeanDS", "D$x")
  ))
  expect_identical(opal_recorder$calls[[mark + 1L]]$site, "fake")
})

test_that("a call Opal refuses fails the test even when DSI catches the server's errors", {
  conns <- federation("cnsim")
  mark <- length(opal_recorder$calls)
  expect_failure(
    try(DSI::datashield.aggregate(conns["sim2"], call("mheColnamesDS", "a b")), silent = TRUE),
    "sim2 \\(aggregate\\) breaks Opal's rules: string outside Opal's grammar"
  )
  expect_identical(opal_recorder$calls[[mark + 1L]]$site, "sim2")
})

test_that("a query through a DSLite federation is recorded and checked call by call", {
  conns <- federation("cnsim")
  mark <- length(opal_recorder$calls)
  ds.mheMean("D$LAB_TSC", datasources = conns)
  sent <- opal_recorder$calls[-seq_len(mark)]
  expect_gte(length(sent), 2L * length(conns))
  problems <- lapply(sent, opal_problems)
  expect_identical(unique(lengths(problems)), 0L)
})

test_that("the checker catches what Opal refuses", {
  declared <- opal_declared()
  check <- function(expr, type = "aggregate") {
    opal_problems(list(expr = expr, type = type, chars = 10), declared)
  }
  expect_length(check(call("mheMeanDS", "D$x", "abc")), 0L)
  expect_match(check(call("mheMeanDS", call("c", "a")))[1], "nested call")
  expect_match(check(call("mheMeanDS", "a b")), "grammar")
  expect_match(check(call("mheMeanDS", "a/b")), "grammar")
  expect_match(check(call("mheMeanDS", "")), "grammar")
  expect_match(check(call("mean", "x")), "not a declared")
  expect_match(check(call("mheMeanDS", "x"), type = "assign"), "not a declared")
  expect_true(any(grepl("single value", check(call("mheMeanDS", c(1, 2))))))
})
