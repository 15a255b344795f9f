library(testthat)
library(dsMHE)

test_check("dsMHE")
