fn main() {
    std::process::exit(tcpscope::cli::main());
}
