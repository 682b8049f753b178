/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/replay_file.c: the embedded replay store of agepass/replay.h, an
 * in-memory hash table mirrored slot for slot by a file.
 *
 * The table is open addressing with linear probing over 20-byte slots
 * {tag, expiry}, expiry in unsigned Unix seconds and 0 marking an empty
 * slot. An expired slot stays occupied until the next rehash: a lookup
 * probes past it (the tag looked for may sit further on), and an insertion
 * reuses the first expired slot on its path once the whole run up to an
 * empty slot has shown the tag absent. Before an insertion would take the
 * table past half full, it is rehashed without its expired entries: at the
 * same size if that leaves it at most a quarter full, else at twice the
 * size. Capacities are 3 * 2^k slots (the home slot of a tag is found by a
 * multiply-shift, so no power of two is needed): with doubling the memory a
 * token costs swings between 40 and 80 bytes, and that ladder puts 10^7
 * tokens at 50 bytes rather than the 67 a power-of-two ladder would give.
 *
 * The file is a 16-byte header ("AGPREPL2" and 8 zero bytes) followed by
 * one 20-byte record per slot of the table, in slot order: tag || expiry
 * (u32, big-endian), all zero for an empty slot. A record's place is its
 * slot's, which its tag decides (and the tags it met on its probe path), so
 * the file keeps no trace of the order of spends (issue 13: nothing stored
 * that links visits by order); the expiry is the caller's coarse end. A
 * spend writes its slot's record with pwrite(2), under the table's mutex,
 * before it returns AGP_OK; the kernel then holds it even if the process is
 * killed. fdatasync follows at once (sync_ms 0) or, from a background
 * thread, at most every sync_ms milliseconds while records keep coming. A
 * write that fails leaves no table entry behind, and the slot's old record
 * is written back; a failure to write it back or to fdatasync marks the
 * store broken, and every later spend returns AGP_ERR_IO: after a failed
 * fsync the kernel may have dropped the data, so the store can no longer
 * vouch for it. When the table is rebuilt (rehash), the file is rewritten
 * in the new layout as at open, before the spend that needed room is
 * written; if that fails, the store is broken too.
 *
 * Opening reads the file (a torn last record is ignored, a record with
 * expiry 0 too, of duplicates the furthest expiry counts; the append-only
 * logs of "AGPREPL1" are read the same way), drops what has expired by
 * time(NULL), writes the table to path.tmp, fsyncs it, renames it over path
 * and fsyncs the directory, then writes to that file. An exclusive flock on
 * the log keeps a second store (in this process or another) from opening
 * the same path: two tables fed from one log would each accept a tag the
 * other had seen.
 *
 * Time: "now" is what the caller passes to agp_replay_spend; an entry is
 * live while now < expiry. agp_replay_count counts the entries live at the
 * latest now passed (or at time(NULL) of the open, before any spend); it
 * scans the table, so its time grows with the table (75 ms at 10^7 tokens
 * in bench_replay), and spends wait meanwhile. Expiries are u32: after 2106
 * every entry reads as expired.
 *
 * Processes that use this store should ignore SIGXFSZ, so that a file size
 * limit turns into a failed write (AGP_ERR_IO) rather than a killed process.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "replay_internal.h"

#define LOG_MAGIC     "AGPREPL2"
#define LOG_MAGIC_V1  "AGPREPL1" /* the append-only log before: read, then rewritten */
#define MAGIC_LEN     8
#define HEADER_LEN    16
#define RECORD_LEN    20
#define CHUNK_RECORDS 4096 /* records read or written per system call at open */
#define FIRST_SLOTS   ((size_t)3 << 10)
#define MAX_SLOTS     ((size_t)3 << 30) /* < 2^32 for the multiply-shift; 64 GB of slots */
#define LOCK_TRIES    8

static const uint8_t zero[HEADER_LEN - MAGIC_LEN]; /* the header's reserved bytes */

struct slot {
    uint8_t tag[AGP_REPLAY_TAG_LEN];
    uint32_t expiry; /* Unix seconds; 0: empty */
};
_Static_assert(sizeof(struct slot) == 20, "a slot is 20 bytes");

struct file_store {
    struct agp_replay base;
    pthread_mutex_t mu;  /* guards all below (fd: its offset and contents) */
    pthread_cond_t cond; /* wakes the sync thread: dirty or stop */
    pthread_t sync_thread;
    struct slot *slots;
    size_t cap;    /* slots: 3 * 2^k */
    size_t used;   /* slots not empty, expired ones included */
    int64_t clock; /* the latest now seen, for agp_replay_count */
    int fd;        /* the file, under our flock */
    char *path;
    unsigned sync_ms;
    int dirty;  /* written since the last fdatasync */
    int stop;   /* agp_replay_free asks the sync thread to finish */
    int broken; /* the log is no longer trustworthy: refuse all spends */
    int stale;  /* the table was rebuilt, the file not yet rewritten: refuse, retry */
    int have_mu, have_cond, have_thread;
};

static int live(const struct slot *e, int64_t now)
{
    return e->expiry != 0 && (int64_t)e->expiry > now;
}

static uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v); /* host order: only hashed */
    return v;
}

/*
 * The home slot of tag. Tags are HMAC outputs, already uniform; the mixing
 * only keeps tests' counter-like tags from piling up.
 */
static size_t home(const uint8_t tag[AGP_REPLAY_TAG_LEN], size_t cap)
{
    uint64_t h = (load64(tag) ^ load64(tag + 8) * 0xc2b2ae3d27d4eb4fu) * 0x9e3779b97f4a7c15u;
    return (size_t)(((h >> 32) * (uint64_t)cap) >> 32);
}

/*
 * The slot of tag if the table holds it, live or expired (*found = 1); else
 * the slot where it should go (*found = 0): the first expired one on its
 * probe path, or the empty slot that ended the path. The table always has
 * an empty slot (it is never more than half full), so the loop ends.
 */
static struct slot *probe(struct file_store *s, const uint8_t tag[AGP_REPLAY_TAG_LEN], int64_t now,
                          int *found)
{
    struct slot *reuse = NULL;
    size_t i = home(tag, s->cap);
    for (;;) {
        struct slot *e = &s->slots[i];
        if (e->expiry == 0) {
            *found = 0;
            return reuse != NULL ? reuse : e;
        }
        if (memcmp(e->tag, tag, AGP_REPLAY_TAG_LEN) == 0) {
            *found = 1;
            return e;
        }
        if (reuse == NULL && !live(e, now)) reuse = e;
        if (++i == s->cap) i = 0;
    }
}

/* Places an entry whose tag is known to be absent; the table has room. */
static void place(struct slot *slots, size_t cap, const struct slot *from)
{
    size_t i = home(from->tag, cap);
    while (slots[i].expiry != 0)
        if (++i == cap) i = 0;
    slots[i] = *from;
}

/*
 * Rebuilds the table without the entries expired at now: same size if the
 * live ones fill at most a quarter of it, else twice the size.
 */
static agp_err rehash(struct file_store *s, int64_t now)
{
    struct slot *old = s->slots, *slots = NULL;
    size_t i, n = 0, old_cap = s->cap, cap = s->cap;
    agp_err err = AGP_ERR_NOMEM;

    for (i = 0; i < old_cap; i++)
        if (live(&old[i], now)) n++;
    if (n + 1 > cap / 4) {
        if (cap > MAX_SLOTS / 2) goto out;
        cap *= 2;
    }
    if ((slots = calloc(cap, sizeof *slots)) == NULL) goto out;
    for (i = 0; i < old_cap; i++)
        if (live(&old[i], now)) place(slots, cap, &old[i]);
    s->slots = slots;
    s->cap = cap;
    s->used = n;
    free(old);
    err = AGP_OK;
out:
    return err;
}

/*
 * The slot where tag is or goes (see probe), after making room if tag needs
 * an empty slot and taking it would fill the table past half.
 */
static agp_err slot_for(struct file_store *s, const uint8_t tag[AGP_REPLAY_TAG_LEN], int64_t now,
                        struct slot **e, int *found)
{
    *e = probe(s, tag, now, found);
    if (*found || (*e)->expiry != 0 || (s->used + 1) * 2 <= s->cap) return AGP_OK;
    AGP_TRY(rehash(s, now));
    *e = probe(s, tag, now, found); /* now at most a quarter full */
    return AGP_OK;
}

/* The expiry stored for a spend: see agp_replay_ttl, then clamped to u32. */
static uint32_t expiry_of(int64_t expires_at, int64_t now)
{
    int64_t t;
    if (now >= (int64_t)UINT32_MAX) return UINT32_MAX;
    t = now + (int64_t)agp_replay_ttl(expires_at, now); /* now, ttl < 2^32: no overflow */
    if (t > (int64_t)UINT32_MAX) return UINT32_MAX;
    return t < 1 ? 1 : (uint32_t)t;
}

static agp_err write_full(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return AGP_ERR_IO;
        p += w;
        n -= (size_t)w;
    }
    return AGP_OK;
}

/* Reads up to n bytes, fewer only at end of file. */
static agp_err read_full(int fd, uint8_t *p, size_t n, size_t *got)
{
    *got = 0;
    while (*got < n) {
        ssize_t r = read(fd, p + *got, n - *got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return AGP_ERR_IO;
        if (r == 0) break;
        *got += (size_t)r;
    }
    return AGP_OK;
}

/*
 *  struct {
 *      uint8_t tag[16];
 *      uint32_t expiry;     big-endian Unix seconds
 *  } Record;
 */
static agp_err record_write(struct agp_writer *w, const struct slot *e)
{
    AGP_TRY(agp_write_bytes(w, e->tag, AGP_REPLAY_TAG_LEN));
    AGP_TRY(agp_write_u16(w, (uint16_t)(e->expiry >> 16)));
    return agp_write_u16(w, (uint16_t)e->expiry);
}

static agp_err record_read(struct agp_reader *r, struct slot *e)
{
    uint16_t hi, lo;
    AGP_TRY(agp_read_bytes(r, e->tag, AGP_REPLAY_TAG_LEN));
    AGP_TRY(agp_read_u16(r, &hi));
    AGP_TRY(agp_read_u16(r, &lo));
    e->expiry = (uint32_t)hi << 16 | lo;
    return AGP_OK;
}

/* Writes the record of slot e to its place in the file; *done: bytes written. */
static agp_err slot_write(struct file_store *s, const struct slot *e, size_t *done)
{
    uint8_t rec[RECORD_LEN];
    struct agp_writer w;
    const uint8_t *p = rec;
    size_t n = sizeof rec;
    off_t at = (off_t)HEADER_LEN + (off_t)(e - s->slots) * RECORD_LEN;
    *done = 0;
    agp_writer_init(&w, rec, sizeof rec);
    AGP_TRY(record_write(&w, e));
    while (n > 0) {
        ssize_t k = pwrite(s->fd, p, n, at);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return AGP_ERR_IO;
        p += k;
        at += k;
        n -= (size_t)k;
        *done += (size_t)k;
    }
    return AGP_OK;
}

static agp_err compact(struct file_store *s, const char *path, int64_t now);

static agp_err file_spend(struct agp_replay *r, const uint8_t tag[AGP_REPLAY_TAG_LEN],
                          int64_t expires_at, int64_t now)
{
    struct file_store *s = (struct file_store *)r;
    struct slot *e, old;
    int found;
    agp_err err;

    struct slot *before;
    size_t done = 0;
    pthread_mutex_lock(&s->mu);
    s->clock = now;
    err = AGP_ERR_IO;
    if (s->broken) goto out;
    /* a rebuilt table whose file could not be rewritten: try again first */
    if (s->stale && compact(s, s->path, now) != AGP_OK) goto out;
    s->stale = 0;
    before = s->slots;
    if ((err = slot_for(s, tag, now, &e, &found)) != AGP_OK) goto out;
    if (s->slots != before && compact(s, s->path, now) != AGP_OK) {
        /* rebuilt: a new layout. Until the file has it, no slot is written */
        s->stale = 1;
        err = AGP_ERR_IO;
        goto out;
    }
    err = AGP_ERR_REPLAY;
    if (found && live(e, now)) goto out;
    old = *e;
    memcpy(e->tag, tag, AGP_REPLAY_TAG_LEN);
    e->expiry = expiry_of(expires_at, now);
    if (old.expiry == 0) s->used++;
    err = slot_write(s, e, &done);
    if (err == AGP_OK && s->sync_ms == 0 && fdatasync(s->fd) != 0) {
        s->broken = 1;
        err = AGP_ERR_IO;
    }
    if (err != AGP_OK) { /* not accepted: the table (and the file, if it can) is as it was */
        *e = old;
        if (old.expiry == 0) s->used--;
        /* part of the new record got in (a limit inside it): put the old one back */
        if (done > 0 && slot_write(s, e, &done) != AGP_OK) s->broken = 1;
        goto out;
    }
    if (s->sync_ms > 0 && !s->dirty) {
        s->dirty = 1;
        pthread_cond_signal(&s->cond);
    }
out:
    pthread_mutex_unlock(&s->mu);
    return err;
}

static size_t file_count(struct agp_replay *r)
{
    struct file_store *s = (struct file_store *)r;
    size_t i, n = 0;
    pthread_mutex_lock(&s->mu);
    for (i = 0; i < s->cap; i++)
        if (live(&s->slots[i], s->clock)) n++;
    pthread_mutex_unlock(&s->mu);
    return n;
}

static size_t file_memory(struct agp_replay *r)
{
    struct file_store *s = (struct file_store *)r;
    size_t n;
    pthread_mutex_lock(&s->mu);
    n = s->cap * sizeof(struct slot);
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* now + ms on the monotonic clock */
static struct timespec deadline(unsigned ms)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    t.tv_sec += (time_t)(ms / 1000);
    t.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

/*
 * The sync thread: once something is written, waits sync_ms (cut short by
 * agp_replay_free), then fdatasyncs; writes during the wait or the sync set
 * dirty again for the next round.
 */
static void *sync_main(void *arg)
{
    struct file_store *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        struct timespec until;
        int rc, fd;
        while (!s->dirty && !s->stop)
            pthread_cond_wait(&s->cond, &s->mu);
        if (!s->dirty) break; /* stopping, all synced */
        until = deadline(s->sync_ms);
        while (!s->stop && pthread_cond_timedwait(&s->cond, &s->mu, &until) != ETIMEDOUT)
            ;
        s->dirty = 0;
        /* a copy: a rebuild may replace s->fd meanwhile (and fsyncs the new file itself) */
        fd = dup(s->fd);
        pthread_mutex_unlock(&s->mu);
        rc = fd >= 0 ? fdatasync(fd) : -1;
        if (fd >= 0) close(fd);
        pthread_mutex_lock(&s->mu);
        if (rc != 0) s->broken = 1;
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

static void file_free(struct agp_replay *r)
{
    struct file_store *s = (struct file_store *)r;
    if (s->have_thread) { /* it flushes what is left, then ends */
        pthread_mutex_lock(&s->mu);
        s->stop = 1;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->mu);
        pthread_join(s->sync_thread, NULL);
    }
    if (s->fd >= 0) close(s->fd); /* releases the flock */
    free(s->slots);
    free(s->path);
    if (s->have_cond) pthread_cond_destroy(&s->cond);
    if (s->have_mu) pthread_mutex_destroy(&s->mu);
    free(s);
}

static agp_err file_health(struct agp_replay *r)
{
    (void)r;
    return AGP_OK;
}

static const struct agp_replay_ops file_ops = {file_spend, file_count, file_memory, file_health,
                                               file_free};

/*
 * Opens path (creating it, 0600) and takes its flock. The file at path may
 * be replaced by another store's compaction between our open and our lock,
 * so the lock counts only if path still names the file we locked.
 */
static agp_err lock_log(int *fd_out, const char *path)
{
    int tries, fd = -1;
    agp_err err = AGP_ERR_IO;

    for (tries = 0; tries < LOCK_TRIES; tries++) {
        struct stat a, b;
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) goto out;
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) goto out; /* held by another store */
        if (fstat(fd, &a) != 0) goto out;
        if (stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            *fd_out = fd;
            fd = -1;
            err = AGP_OK;
            goto out;
        }
        close(fd);
        fd = -1;
    }
out:
    if (fd >= 0) close(fd);
    return err;
}

/*
 *  struct {
 *      uint8_t magic[8] = "AGPREPL2";   or "AGPREPL1": an append-only log
 *      uint8_t reserved[8] = {0};
 *      Record records[];   one per slot (v1: per spend); the last may be torn
 *  } Log;
 */
static agp_err load(struct file_store *s, int fd, int64_t now)
{
    uint8_t head[HEADER_LEN], *buf = NULL;
    struct agp_reader rd;
    struct agp_span magic, reserved;
    struct stat st;
    size_t got;
    agp_err err;

    if ((err = read_full(fd, head, sizeof head, &got)) != AGP_OK) goto out;
    if (got == 0) goto out; /* a new file */
    agp_reader_init(&rd, head, got);
    err = AGP_ERR_ENCODING;
    if (agp_read_span(&rd, MAGIC_LEN, &magic) != AGP_OK ||
        (memcmp(magic.ptr, LOG_MAGIC, MAGIC_LEN) != 0 &&
         memcmp(magic.ptr, LOG_MAGIC_V1, MAGIC_LEN) != 0) ||
        agp_read_span(&rd, sizeof zero, &reserved) != AGP_OK ||
        memcmp(reserved.ptr, zero, sizeof zero) != 0)
        goto out;
    err = AGP_ERR_NOMEM;
    /*
     * A v2 file lists its slots in hash order. Put into a smaller table,
     * records in that order would pile up in one run (each landing at the
     * end of the run the ones before made): quadratic. So the table starts
     * as large as the file's, where each record finds its old place.
     */
    if (memcmp(magic.ptr, LOG_MAGIC, MAGIC_LEN) == 0 && fstat(fd, &st) == 0 &&
        st.st_size > HEADER_LEN) {
        size_t slots = (size_t)(st.st_size - HEADER_LEN) / RECORD_LEN, cap = FIRST_SLOTS;
        while (cap <= MAX_SLOTS / 2 && cap * 2 <= slots)
            cap *= 2;
        if (cap > s->cap) {
            struct slot *bigger = calloc(cap, sizeof *bigger);
            if (bigger == NULL) goto out;
            free(s->slots);
            s->slots = bigger;
            s->cap = cap;
        }
    }
    if ((buf = malloc(CHUNK_RECORDS * RECORD_LEN)) == NULL) goto out;
    do {
        if ((err = read_full(fd, buf, CHUNK_RECORDS * RECORD_LEN, &got)) != AGP_OK) goto out;
        agp_reader_init(&rd, buf, got);
        /* whole records only: a short tail is a write the crash tore */
        while (rd.len - rd.pos >= RECORD_LEN) {
            struct slot rec, *e;
            int found;
            if ((err = record_read(&rd, &rec)) != AGP_OK) goto out;
            if (!live(&rec, now)) continue;
            if ((err = slot_for(s, rec.tag, now, &e, &found)) != AGP_OK) goto out;
            if (e->expiry == 0) s->used++;
            if (!found || !live(e, now) || e->expiry < rec.expiry) *e = rec;
        }
    } while (got == CHUNK_RECORDS * RECORD_LEN);
    err = AGP_OK;
out:
    free(buf);
    return err;
}

/* Writes the header and every slot to fd, in slot order: empty or expired ones as zeros. */
static agp_err dump(struct file_store *s, int fd, int64_t now)
{
    uint8_t *buf;
    struct agp_writer w;
    size_t i;
    agp_err err = AGP_ERR_NOMEM;

    if ((buf = malloc(CHUNK_RECORDS * RECORD_LEN)) == NULL) goto out;
    agp_writer_init(&w, buf, CHUNK_RECORDS * RECORD_LEN);
    if ((err = agp_write_bytes(&w, (const uint8_t *)LOG_MAGIC, MAGIC_LEN)) != AGP_OK ||
        (err = agp_write_bytes(&w, zero, sizeof zero)) != AGP_OK)
        goto out;
    for (i = 0; i < s->cap; i++) {
        static const struct slot none; /* all zero: empty */
        if (w.cap - w.len < RECORD_LEN) {
            if ((err = write_full(fd, buf, w.len)) != AGP_OK) goto out;
            w.len = 0;
        }
        err = record_write(&w, live(&s->slots[i], now) ? &s->slots[i] : &none);
        if (err != AGP_OK) goto out;
    }
    if ((err = write_full(fd, buf, w.len)) != AGP_OK) goto out;
    err = AGP_OK;
out:
    free(buf);
    return err;
}

/* fsync of the directory holding path, so that a rename in it lasts. */
static agp_err sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = NULL;
    size_t n;
    int fd = -1;
    agp_err err = AGP_ERR_NOMEM;

    n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
    if ((dir = malloc(n + 1)) == NULL) goto out;
    memcpy(dir, slash == NULL ? "." : path, n);
    dir[n] = '\0';
    err = AGP_ERR_IO;
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) goto out;
    if (fsync(fd) != 0) goto out;
    err = AGP_OK;
out:
    if (fd >= 0) close(fd);
    free(dir);
    return err;
}

/*
 * Writes the table to path.tmp, makes it durable and puts it in place of
 * path; s->fd is then that file, still locked (the one before is closed).
 */
static agp_err compact(struct file_store *s, const char *path, int64_t now)
{
    size_t n = strlen(path);
    char *tmp = NULL;
    int fd = -1, renamed = 0;
    agp_err err = AGP_ERR_NOMEM;

    if ((tmp = malloc(n + sizeof ".tmp")) == NULL) goto out;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", sizeof ".tmp");
    err = AGP_ERR_IO;
    /* only the holder of path's lock gets here, so path.tmp is ours */
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) goto out;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) goto out;
    if ((err = dump(s, fd, now)) != AGP_OK) goto out;
    err = AGP_ERR_IO;
    if (fsync(fd) != 0) goto out;
    if (rename(tmp, path) != 0) goto out;
    renamed = 1;
    if ((err = sync_dir(path)) != AGP_OK) goto out;
    if (s->fd >= 0) close(s->fd); /* the file replaced: its lock goes with it */
    s->fd = fd;
    fd = -1;
    err = AGP_OK;
out:
    if (fd >= 0) {
        close(fd);
        if (!renamed) unlink(tmp);
    }
    free(tmp);
    return err;
}

/* see agepass/replay.h */
agp_err agp_replay_open_file(struct agp_replay **out, const char *path, unsigned sync_ms)
{
    struct file_store *s = NULL;
    pthread_condattr_t ca;
    int old_fd = -1;
    int64_t now = (int64_t)time(NULL);
    agp_err err = AGP_ERR_ARG;

    if (out != NULL) *out = NULL;
    if (out == NULL || path == NULL || path[0] == '\0') goto out;
    err = AGP_ERR_NOMEM;
    if ((s = calloc(1, sizeof *s)) == NULL) goto out;
    s->base.ops = &file_ops;
    s->fd = -1;
    s->sync_ms = sync_ms;
    s->clock = now;
    if ((s->path = malloc(strlen(path) + 1)) == NULL) goto out;
    memcpy(s->path, path, strlen(path) + 1);
    if (pthread_mutex_init(&s->mu, NULL) != 0) goto out;
    s->have_mu = 1;
    s->cap = FIRST_SLOTS;
    if ((s->slots = calloc(s->cap, sizeof *s->slots)) == NULL) goto out;

    if ((err = lock_log(&old_fd, path)) != AGP_OK) goto out;
    if ((err = load(s, old_fd, now)) != AGP_OK) goto out;
    if ((err = compact(s, path, now)) != AGP_OK) goto out;

    if (sync_ms > 0) {
        err = AGP_ERR_NOMEM;
        if (pthread_condattr_init(&ca) != 0) goto out;
        if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
            pthread_cond_init(&s->cond, &ca) != 0) {
            pthread_condattr_destroy(&ca);
            goto out;
        }
        pthread_condattr_destroy(&ca);
        s->have_cond = 1;
        if (pthread_create(&s->sync_thread, NULL, sync_main, s) != 0) goto out;
        s->have_thread = 1;
    }
    *out = &s->base;
    s = NULL;
    err = AGP_OK;
out:
    if (old_fd >= 0) close(old_fd); /* the replaced file, or the one we refused */
    if (s != NULL) file_free(&s->base);
    return err;
}
