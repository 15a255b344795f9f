# The client API is a contract (DESIGN.md, "Client API"): other code calls these
# functions positionally, so their leading arguments, in order, must not change.
# Extra arguments come after `datasources`.

test_that("client functions keep the contract's leading arguments", {
  contract <- list(
    ds.mheSetup = c("datasources", "params"),
    ds.mheMean = c("x", "datasources"),
    ds.mheVar = c("x", "datasources"),
    ds.mheTable = c("rvar", "cvar", "datasources"),
    ds.mheHistogram = c("x", "breaks", "datasources"),
    ds.mheCor = c("x", "datasources"),
    ds.mheGLM = c("formula", "family", "data", "datasources"),
    ds.mheSurvfit = c("time", "event", "group", "datasources"),
    ds.mheAudit = "datasources",
    ds.mheClose = "datasources"
  )
  for (fn in names(contract)) {
    args <- formals(getExportedValue("dsMHE", fn))
    lead <- names(args)[seq_along(contract[[fn]])]
    expect_identical(lead, contract[[fn]], label = paste(fn, "leading arguments"))
    expect_null(args$datasources, label = paste(fn, "default of datasources"))
  }
  defaults <- list(
    formals(dsMHE::ds.mheSetup)$params, formals(dsMHE::ds.mheHistogram)$breaks,
    formals(dsMHE::ds.mheGLM)$family, formals(dsMHE::ds.mheGLM)$data
  )
  expect_identical(defaults, list("default", 10, "gaussian", "D"))
  expect_null(formals(dsMHE::ds.mheTable)$cvar)
  expect_null(formals(dsMHE::ds.mheSurvfit)$group)
})
