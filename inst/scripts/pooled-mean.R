# A pooled mean over three DataSHIELD sites (DSLite, in this R process), with
# dsMHE: each site encrypts its sum and count, only the pooled total is
# decrypted. Run: Rscript inst/scripts/pooled-mean.R
# Exits with an error when the pooled mean differs from base R's mean of the
# row-bound data by more than 1e-9 relative.

suppressPackageStartupMessages({
  library(DSI)
  library(DSLite)
  library(dsMHE)
})
options(datashield.progress = FALSE)
# The sites' admins' options (all sites run in this R process): an unpinned
# roster allowed, the audit files in a temporary directory.
options(mhe.allow.unpinned = TRUE, mhe.audit.file = tempfile("dsMHE-audit-"))

site_data <- function(name) {
  env <- new.env()
  data(list = name, package = "DSLite", envir = env)
  as.data.frame(env[[name]])
}
data <- list(site1 = site_data("CNSIM1"), site2 = site_data("CNSIM2"), site3 = site_data("CNSIM3"))

# one DSLite server per site, each holding its own table D
builder <- newDSLoginBuilder()
for (site in names(data)) {
  assign(paste0("server_", site), newDSLiteServer(
    tables = list(D = data[[site]]),
    config = defaultDSConfiguration(include = "dsMHE")
  ))
  builder$append(server = site, url = paste0("server_", site), table = "D", driver = "DSLiteDriver")
}
conns <- datashield.login(builder$build(), assign = TRUE, symbol = "D")

session <- ds.mheSetup(conns)
print(session)
result <- ds.mheMean("D$LAB_TSC", datasources = conns)

pooled <- do.call(rbind, data)$LAB_TSC
expected <- mean(pooled, na.rm = TRUE)
relative <- abs(result$mean - expected) / abs(expected)
cat(sprintf("dsMHE pooled mean of LAB_TSC: %.12f (n = %d, missing = %d)\n",
            result$mean, result$n, result$n_missing))
cat(sprintf("base R mean of the pooled data: %.12f (n = %d)\n", expected, sum(!is.na(pooled))))
cat(sprintf("relative difference: %.3g\n", relative))

ds.mheClose(conns)
datashield.logout(conns)
if (!is.finite(relative) || relative > 1e-9 || result$n != sum(!is.na(pooled))) {
  stop("the pooled mean differs from base R's", call. = FALSE)
}
