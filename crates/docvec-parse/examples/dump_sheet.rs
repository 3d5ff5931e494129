//! Print every cell of every sheet: `cargo run --example dump_sheet -- FILE`.
use calamine::{Reader, open_workbook_auto};

fn main() {
    let path = std::env::args().nth(1).expect("a workbook path");
    let mut book = open_workbook_auto(&path).expect("a readable workbook");
    for name in book.sheet_names() {
        match book.worksheet_range(&name) {
            Ok(range) => {
                println!(
                    "== {name} start={:?} size={:?}",
                    range.start(),
                    range.get_size()
                );
                for row in range.rows().take(25) {
                    println!("{row:?}");
                }
            }
            Err(e) => println!("== {name}: {e}"),
        }
    }
}
