//! A damaged write-ahead log, found before SQLite opens the database. SQLite replays the `-wal` file
//! up to the first frame whose checksum fails and silently drops that frame and every one after it:
//! right for a write torn by a crash (the last, uncommitted frames), wrong when a flipped byte in the
//! middle hides transactions that committed after it. Those are told apart by the salts: frames of the
//! log's current cycle that follow the failing one were written after it, so dropping them loses
//! committed writes, and the store refuses to open instead. Format: <https://sqlite.org/fileformat.html#the_write_ahead_log>.

use std::path::{Path, PathBuf};

use crate::StoreError;

const HEADER: usize = 32;
const FRAME_HEADER: usize = 24;
const MAGIC_LE: u32 = 0x377f_0682;
const MAGIC_BE: u32 = 0x377f_0683;

/// The `-wal` file beside the database at `db`.
pub(crate) fn wal_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_owned();
    name.push("-wal");
    PathBuf::from(name)
}

/// Refuse a log that SQLite would replay only in part while later frames of it committed.
pub(crate) fn check(db: &Path) -> Result<(), StoreError> {
    let path = wal_path(db);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        // Unreadable here is unreadable to SQLite too; let its open say why.
        Err(_) => return Ok(()),
    };
    match damage(&bytes) {
        None => Ok(()),
        Some(cause) => Err(StoreError::WalDamaged {
            path: path.display().to_string(),
            cause,
        }),
    }
}

fn word(b: &[u8], at: usize, big_endian: bool) -> u32 {
    let w = [b[at], b[at + 1], b[at + 2], b[at + 3]];
    if big_endian {
        u32::from_be_bytes(w)
    } else {
        u32::from_le_bytes(w)
    }
}

/// SQLite's checksum of `data` (a multiple of 8 bytes), continuing from `s`.
fn checksum(mut s: (u32, u32), data: &[u8], big_endian: bool) -> (u32, u32) {
    for i in (0..data.len()).step_by(8) {
        s.0 =
            s.0.wrapping_add(word(data, i, big_endian))
                .wrapping_add(s.1);
        s.1 =
            s.1.wrapping_add(word(data, i + 4, big_endian))
                .wrapping_add(s.0);
    }
    s
}

/// Why the log loses committed frames, if it does. `None` for an empty log, a sound one, a torn tail,
/// or one whose header is not SQLite's (SQLite ignores such a log, and it then holds nothing).
pub(crate) fn damage(b: &[u8]) -> Option<String> {
    if b.len() < HEADER {
        return None;
    }
    let magic = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    let big_endian = match magic {
        MAGIC_BE => true,
        MAGIC_LE => false,
        _ => return None,
    };
    let page = word(b, 8, true) as usize;
    let salts = (word(b, 16, true), word(b, 20, true));
    let frame = FRAME_HEADER + page;
    let frames = (b.len() - HEADER) / frame.max(1);
    let mut sum = checksum((0, 0), &b[..24], big_endian);
    if sum != (word(b, 24, true), word(b, 28, true)) || !page.is_power_of_two() {
        // Every frame of the log is dropped with its header.
        return (frames > 0)
            .then(|| format!("its header fails its checksum, hiding all {frames} frames"));
    }
    let salted = |m: usize| {
        let g = &b[HEADER + m * frame..];
        (word(g, 8, true), word(g, 12, true)) == salts
    };
    // The page count a commit frame records (0 in the other frames of a transaction).
    let commits = |m: usize| word(&b[HEADER + m * frame..], 4, true) != 0;
    // A cycle writes its frames from the start of the file, so frames of the current cycle found
    // after the end SQLite sees were written after it. Only a commit frame among them means a
    // transaction committed there: frames after the last one are what a rolled-back transaction left
    // (a write that failed part-way, on a full disk say, whose frames the next transaction overwrote
    // in part), which SQLite rightly ignores and whose loss loses nothing.
    let hidden = |n: usize, why: &str| {
        let end = (n + 1..frames).rev().find(|&m| salted(m) && commits(m))?;
        let later = (n + 1..=end).filter(|&m| salted(m)).count();
        (later > 0).then(|| {
            format!(
                "frame {} of {frames} {why}, hiding the {later} frames written after it",
                n + 1
            )
        })
    };
    for n in 0..frames {
        if !salted(n) {
            return hidden(n, "is not of the log's current cycle");
        }
        let f = &b[HEADER + n * frame..HEADER + (n + 1) * frame];
        sum = checksum(sum, &f[..8], big_endian);
        sum = checksum(sum, &f[FRAME_HEADER..], big_endian);
        if sum != (word(f, 16, true), word(f, 20, true)) {
            return hidden(n, "fails its checksum");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A log of `frames` frames of 512-byte pages, checksummed as SQLite writes them, each frame a
    /// transaction of its own.
    fn log(frames: usize) -> Vec<u8> {
        log_committing(frames, frames)
    }

    /// As [`log`], with only the first `committed` frames commit frames (the rest a transaction that
    /// never committed).
    fn log_committing(frames: usize, committed: usize) -> Vec<u8> {
        let page = 512usize;
        let mut b = vec![0u8; HEADER];
        b[..4].copy_from_slice(&MAGIC_LE.to_be_bytes());
        b[4..8].copy_from_slice(&3_007_000u32.to_be_bytes());
        b[8..12].copy_from_slice(&(page as u32).to_be_bytes());
        b[16..24].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        let mut sum = checksum((0, 0), &b[..24], false);
        b[24..28].copy_from_slice(&sum.0.to_be_bytes());
        b[28..32].copy_from_slice(&sum.1.to_be_bytes());
        for n in 0..frames {
            let mut f = vec![0u8; FRAME_HEADER + page];
            f[..4].copy_from_slice(&(n as u32 + 1).to_be_bytes());
            let pages = if n < committed { n as u32 + 1 } else { 0 };
            f[4..8].copy_from_slice(&pages.to_be_bytes());
            f[8..16].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
            f[FRAME_HEADER..]
                .iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = (i * 7 + n) as u8);
            sum = checksum(sum, &f[..8], false);
            sum = checksum(sum, &f[FRAME_HEADER..], false);
            f[16..20].copy_from_slice(&sum.0.to_be_bytes());
            f[20..24].copy_from_slice(&sum.1.to_be_bytes());
            b.extend_from_slice(&f);
        }
        b
    }

    #[test]
    fn sound_logs_and_torn_tails_pass_and_hidden_frames_do_not() {
        let sound = log(4);
        assert_eq!(damage(&sound), None);
        assert_eq!(
            damage(&sound[..sound.len() - 100]),
            None,
            "a torn last frame"
        );
        let mut last = sound.clone();
        let end = last.len() - 1;
        last[end] ^= 1;
        assert_eq!(
            damage(&last),
            None,
            "damage in the last frame hides nothing after it"
        );
        let mut middle = sound.clone();
        middle[HEADER + FRAME_HEADER + 40] ^= 1;
        let why = damage(&middle).expect("frame 1 hides frames 2-4");
        assert!(
            why.contains("frame 1 of 4") && why.contains("3 frames"),
            "{why}"
        );
        let mut salt = sound.clone();
        salt[HEADER + FRAME_HEADER + 512 + 9] ^= 1;
        assert!(damage(&salt).unwrap().contains("frame 2 of 4"));
        let mut header = sound.clone();
        header[12] ^= 1;
        assert!(damage(&header).unwrap().contains("header"));
        assert_eq!(damage(&log(0)), None);
    }

    /// What a full disk leaves (issue 24): a transaction that failed part-way and was rolled back,
    /// its frames overwritten in part by the next, so the first of them fails its checksum and the
    /// rest follow with the log's salts but no commit frame. SQLite drops them, losing nothing.
    #[test]
    fn the_uncommitted_frames_of_a_rolled_back_write_hide_nothing() {
        let mut rolled_back = log_committing(6, 2);
        rolled_back[HEADER + 2 * (FRAME_HEADER + 512) + FRAME_HEADER + 3] ^= 1;
        assert_eq!(damage(&rolled_back), None);
        // A commit frame after the failing one is a committed transaction that would be lost.
        let mut committed_after = log_committing(6, 2);
        committed_after[HEADER + 5 * (FRAME_HEADER + 512) + 7] = 1;
        committed_after[HEADER + (FRAME_HEADER + 512) + FRAME_HEADER + 3] ^= 1;
        let why = damage(&committed_after).expect("frame 2 hides the commit in frame 6");
        assert!(
            why.contains("frame 2 of 6") && why.contains("4 frames"),
            "{why}"
        );
    }
}
