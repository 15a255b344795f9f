/* R's entry point for dsMHE: the routines are registered by the extendr module
 * `dsMHE` of the Rust crate rust/dsmhe (src/Makevars links its static library). */
void R_init_dsMHE_extendr(void *dll);

void R_init_dsMHE(void *dll) {
    R_init_dsMHE_extendr(dll);
}
