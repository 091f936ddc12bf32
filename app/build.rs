// `sqlx::migrate!` embeds the migration files when the crate compiles; cargo knows to
// compile it again after a migration is added only when told so.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
