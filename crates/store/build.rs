// `sqlx::migrate!` embeds the migrations at compile time, but a stable
// compiler cannot tell cargo that it read them: without this, a new
// migration is left out until something else in the crate changes.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
