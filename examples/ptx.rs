fn main() {
    let arch = std::env::args().nth(1).unwrap_or("sm_90".into());
    print!("{}", regsolver::solver::cuda::compile_ptx(&arch).unwrap());
}
