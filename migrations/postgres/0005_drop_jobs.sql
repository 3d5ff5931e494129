-- Jobs (uploads, rebuilds, snapshots) are the docvec server's own work log: kept in its SQLite store
-- with their children, progress and timings, and served at /jobs. They are not data an app searches,
-- and nothing ever wrote this table, so it is dropped rather than mirrored: one place holds jobs.
DROP TABLE IF EXISTS docvec.jobs;
