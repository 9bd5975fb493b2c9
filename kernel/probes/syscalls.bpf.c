// Saker's syscall probes (eBPF, compiled by BCC through kernel/loader.py).
//
// kernel/loader.py prepends #define lines for: every OFF_* kernel struct offset and SIZE_* struct size (read
// from the running kernel's BTF by kernel/btf.py, never from headers), CGROUP_SUBSYS_COUNT (the controllers of
// enum cgroup_subsys_id), RING_*_PAGES (ring sizes) and REC_SIZE_* (the record sizes of kernel/records.py,
// checked against the structs below at compile time).
//
// Flow: one program stashes the six raw arguments of every traced syscall at sys_enter (per-thread LRU hash
// keyed by pid_tgid); at sys_exit a handler program (chosen per syscall by the loader) builds one fixed-size
// record with the result, the stashed arguments and, depending on the handler, user strings, a socket tuple
// or exec data, and submits it to one of four BPF ring buffers (small / path / big / exec records). The
// sensor's own processes are skipped (hash `ignored` keyed by tgid; value 2 = also ignore the children it
// forks).
// Records that do not fit in a full ring are counted per CPU (`counters`), never waited for.

#define STR_LEN 256
#define ARGS_LEN 1024
#define ENV_LEN 512
#define SOCK_TUPLE_LEN 40
#define SOCKADDR_MAX 128
// I/O calls keep the first SNAPLEN bytes they moved (Falco's default snaplen); socket calls keep them after the
// tuple and the address (SOCK_DATA_AT), vectored calls read up to IOV_READ of their iovecs.
#define SNAPLEN 80
#define SOCK_DATA_AT (SOCK_TUPLE_LEN + SOCKADDR_MAX)
#define IOV_READ 16
#define NOARG 255
// Process details of exec records: path components are read NAME_READ bytes at a time at an offset below
// the area's HALF (a power of two, so masking proves the bound to the verifier) and stop there.
#define NAME_READ 256
#define CWD_HALF 1024
#define CG_HALF 2048
#define CG_SLOTS 16
#define CWD_DEPTH 48
#define CG_DEPTH 8

// Header flags (truncation and context markers), mirrored in kernel/records.py.
#define F_S0_TRUNC 1
#define F_S1_TRUNC 2
#define F_ARGS_TRUNC 4
#define F_ENV_TRUNC 8
#define F_NO_STASH 16
#define F_EXE_MEMFD 32
#define F_CWD_TRUNC 64
#define F_CGROUP_TRUNC 128
#define F_EXE_UPPER 256  // the program's file is in an overlayfs upper layer (a container's writable one)
#define F_EXE_LOWER 512  // ... in an overlayfs lower layer (the image)
#define OVERLAYFS_SUPER_MAGIC 0x794c7630

// Per-syscall configuration flags (struct conf.flags), mirrored in kernel/syscalls.py.
#define CF_SOCK_FD_RES 1
#define CF_MSGHDR 2
#define CF_CLONE3 4
#define CF_EXECAT 8
#define CF_FCNTL_DUP 16
#define CF_OPENAT2 32
#define CF_PIPE 64
#define CF_CAPS 128
#define CF_DATA 256         // exit_sock: the call moves data through the buffer of argument 1
#define CF_DATA_OUT 512     // the call writes its buffers (a write that failed shows what it was given)
#define CF_ADDRLEN_PTR 1024 // the address length argument is a pointer to it (recvfrom)

// Counter slots, mirrored in kernel/drops.py.
#define C_EVENTS 0
#define C_DROPS 1
#define C_NO_STASH 2

#define PPME_PROCEXIT_1_E 186

struct hdr {
    u64 ts;
    u32 tid;
    u32 pid;
    s64 res;
    u16 evt;
    u16 nr;
    u16 cpu;
    u16 flags;
    u16 len[4];
    u64 a[6];
};

struct small_rec {
    struct hdr h;
};

struct path_rec {
    struct hdr h;
    char s0[STR_LEN];
};

struct big_rec {
    struct hdr h;
    char s0[STR_LEN];
    char s1[STR_LEN];
    char b0[ARGS_LEN];
    char b1[ENV_LEN];
};

// What an exec tells about the new process besides its program. Paths are NUL-terminated components, leaf
// first (user space reverses them): the cwd up to the task's root, and per cgroup controller (by id) the span
// cg[cg_at[i]..cg_end[i]) of its cgroup's path; controllers in the same cgroup share one span.
struct details {
    u32 vtid;
    u32 vpid;
    u32 tty;      // new_encode_dev of the controlling terminal, as /proc/<pid>/stat's tty_nr; 0 = none
    u16 cwd_len;  // bytes of cwd[] used (components with their NULs)
    u16 cg_len;   // bytes of cg[] used
    u16 cg_dfl;   // bit i: controller i is on the default (v2) hierarchy
    u16 pad[3];
    u16 cg_at[CG_SLOTS];
    u16 cg_end[CG_SLOTS];
    u64 caps[3];  // capability sets after the exec: inheritable, permitted, effective (put_caps)
    u64 exe_ino;  // the program's inode number, change and modification times (epoch ns): put_exe_inode
    u64 exe_ctime;
    u64 exe_mtime;
    u64 pidns_start;  // start of the init of the pid namespace the process's children get (CLOCK_MONOTONIC ns)
    char cwd[CWD_HALF + NAME_READ];
    char cg[CG_HALF + NAME_READ];
};

struct exec_rec {
    struct hdr h;
    char s0[STR_LEN];
    char s1[STR_LEN];
    char b0[ARGS_LEN];
    char b1[ENV_LEN];
    struct details d;
};

_Static_assert(sizeof(struct small_rec) == REC_SIZE_SMALL, "small record differs from kernel/records.py");
_Static_assert(sizeof(struct path_rec) == REC_SIZE_PATH, "path record differs from kernel/records.py");
_Static_assert(sizeof(struct big_rec) == REC_SIZE_BIG, "big record differs from kernel/records.py");
_Static_assert(sizeof(struct exec_rec) == REC_SIZE_EXEC, "exec record differs from kernel/records.py");
_Static_assert(CGROUP_SUBSYS_COUNT <= CG_SLOTS, "more cgroup controllers than exec records have slots for");

struct conf {
    u16 evt;
    u8 s0;
    u8 s1;
    u8 s2;
    u8 pad;
    u16 flags;
};

struct stash {
    u64 a[6];
};

struct exec_path {
    u16 len;
    char name[STR_LEN];
};

// The cgroup each controller's path was read from, to read a cgroup shared by several controllers once.
struct cgroups_seen {
    u64 cgroup[CG_SLOTS];
};

BPF_RINGBUF_OUTPUT(ring_small, RING_SMALL_PAGES);
BPF_RINGBUF_OUTPUT(ring_path, RING_PATH_PAGES);
BPF_RINGBUF_OUTPUT(ring_big, RING_BIG_PAGES);
BPF_RINGBUF_OUTPUT(ring_exec, RING_EXEC_PAGES);
BPF_ARRAY(conf, struct conf, 512);
BPF_TABLE("lru_hash", u64, struct stash, stash, 16384);
BPF_TABLE("lru_hash", u64, struct exec_path, exec_paths, 4096);
BPF_HASH(ignored, u32, u8, 16384);
BPF_PERCPU_ARRAY(counters, u64, 4);
BPF_PERCPU_ARRAY(exec_scratch, struct exec_path, 1);
BPF_PERCPU_ARRAY(cgroups_scratch, struct cgroups_seen, 1);

static __always_inline void count(u32 slot) {
    u64 *value = counters.lookup(&slot);
    if (value)
        *value += 1;
}

static __always_inline u64 read_u64(u64 addr) {
    u64 value = 0;
    bpf_probe_read_kernel(&value, sizeof(value), (void *)addr);
    return value;
}

static __always_inline u32 read_u32(u64 addr) {
    u32 value = 0;
    bpf_probe_read_kernel(&value, sizeof(value), (void *)addr);
    return value;
}

static __always_inline u16 read_u16(u64 addr) {
    u16 value = 0;
    bpf_probe_read_kernel(&value, sizeof(value), (void *)addr);
    return value;
}

static __always_inline int is_ignored(u64 id) {
    u32 tgid = id >> 32;
    return ignored.lookup(&tgid) != 0;
}

// The stashed arguments of this thread's syscall (zeros and F_NO_STASH when the enter was not seen).
static __always_inline u16 take_stash(u64 id, struct stash *out) {
    struct stash *found = stash.lookup(&id);
    if (!found) {
        count(C_NO_STASH);
        return F_NO_STASH;
    }
    __builtin_memcpy(out, found, sizeof(*out));
    stash.delete(&id);
    return 0;
}

static __always_inline void fill_hdr(struct hdr *h, u64 id, u16 nr, s64 ret, u16 evt, u16 flags, struct stash *s) {
    h->ts = bpf_ktime_get_ns();
    h->tid = (u32)id;
    h->pid = id >> 32;
    h->res = ret;
    h->evt = evt;
    h->nr = nr;
    h->cpu = bpf_get_smp_processor_id();
    h->flags = flags;
    h->len[0] = 0;
    h->len[1] = 0;
    h->len[2] = 0;
    h->len[3] = 0;
    h->a[0] = s->a[0];
    h->a[1] = s->a[1];
    h->a[2] = s->a[2];
    h->a[3] = s->a[3];
    h->a[4] = s->a[4];
    h->a[5] = s->a[5];
}

static __always_inline struct conf *conf_of(u32 nr) {
    return conf.lookup(&nr);
}

// A user string into `dst` (STR_LEN bytes); its length with the NUL goes to *len; truncation sets `trunc`.
static __always_inline u16 read_str(char *dst, u64 ptr, u16 *len, u16 trunc) {
    long n = bpf_probe_read_user_str(dst, STR_LEN, (void *)ptr);
    if (n <= 0) {
        *len = 0;
        return 0;
    }
    *len = (u16)n;
    return n >= STR_LEN ? trunc : 0;
}

// The current task's comm into `dst`; returns its length with the NUL, as read_str does for every string area.
static __always_inline u16 read_comm(char *dst) {
    bpf_get_current_comm(dst, 16);
    u16 n = 16;
#pragma unroll
    for (int i = 15; i >= 0; i--) {
        if (dst[i] == 0)
            n = i + 1;
    }
    return n;
}

// --- sys_enter: stash the raw arguments -----------------------------------------------------------------

int on_enter(void *ctx) {
    u64 id = bpf_get_current_pid_tgid();
    if (is_ignored(id))
        return 0;
    struct stash s = {};
    bpf_probe_read_kernel(&s.a, sizeof(s.a), (char *)ctx + 16);
    stash.update(&id, &s);
    return 0;
}

// --- sys_exit handlers ----------------------------------------------------------------------------------

struct exit_args {
    u16 nr;
    s64 ret;
    u64 id;
};

static __always_inline void exit_args_of(void *ctx, struct exit_args *e) {
    int nr = 0;
    s64 ret = 0;
    bpf_probe_read_kernel(&nr, sizeof(nr), (char *)ctx + 8);
    bpf_probe_read_kernel(&ret, sizeof(ret), (char *)ctx + 16);
    e->nr = (u16)nr;
    e->ret = ret;
    e->id = bpf_get_current_pid_tgid();
}

// The common start of the exit handlers: the call's number, result and thread, its stashed arguments (and the
// header flags taking them gave; a clone's child side, result 0, never had any) and its configuration; NULL
// when the thread is ignored or the syscall is not configured.
static __always_inline struct conf *exit_start(void *ctx, struct exit_args *e, struct stash *s, u16 *flags,
                                               int is_clone) {
    exit_args_of(ctx, e);
    if (!(is_clone && e->ret == 0))
        *flags = take_stash(e->id, s);
    if (is_ignored(e->id))
        return 0;
    return conf_of(e->nr);
}

// The task's capability sets from its credentials, in the kernel's bit order (which scap's PPM_CAP_* keep):
// dst[0] inheritable, dst[1] permitted, dst[2] effective.
static __always_inline void put_caps(u64 *dst, u64 task) {
    u64 cred = read_u64(task + OFF_TASK_CRED);
    dst[0] = read_u64(cred + OFF_CRED_CAP_INHERITABLE);
    dst[1] = read_u64(cred + OFF_CRED_CAP_PERMITTED);
    dst[2] = read_u64(cred + OFF_CRED_CAP_EFFECTIVE);
}

// Result and arguments only.
int exit_small(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 0);
    if (!c)
        return 0;
    // fcntl: only the commands that duplicate an fd (F_DUPFD, F_DUPFD_CLOEXEC) change state.
    if ((c->flags & CF_FCNTL_DUP) && s.a[1] != 0 && s.a[1] != 1030)
        return 0;
    struct small_rec *r = ring_small.ringbuf_reserve(sizeof(struct small_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    fill_hdr(&r->h, e.id, e.nr, e.ret, c->evt, flags, &s);
    if ((c->flags & CF_PIPE) && e.ret == 0) {
        // pipe/pipe2 write their two fds to the array of argument 0: registers 2 and 3 carry them (unused by
        // either call).
        int fds[2] = {-1, -1};
        bpf_probe_read_user(fds, sizeof(fds), (void *)s.a[0]);
        r->h.a[2] = (u32)fds[0];
        r->h.a[3] = (u32)fds[1];
    }
    // capset: the sets the call left, in registers 0-2 (its two pointer arguments are not needed).
    if (c->flags & CF_CAPS)
        put_caps(r->h.a, bpf_get_current_task());
    ring_small.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// Result, arguments and one user string (a path or a name) from argument c->s0.
int exit_str(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 0);
    if (!c)
        return 0;
    u8 s0 = c->s0;
    u16 evt = c->evt;
    u16 cflags = c->flags;
    struct path_rec *r = ring_path.ringbuf_reserve(sizeof(struct path_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    if (cflags & CF_OPENAT2) {
        // struct open_how { u64 flags; u64 mode; u64 resolve; } replaces the pointer and size arguments.
        u64 how[3] = {};
        bpf_probe_read_user(&how, sizeof(how), (void *)s.a[2]);
        s.a[2] = how[0];
        s.a[3] = how[1];
        s.a[4] = how[2];
    }
    fill_hdr(&r->h, e.id, e.nr, e.ret, evt, flags, &s);
    if (s0 < 6)
        r->h.flags |= read_str(r->s0, s.a[s0 & 7], &r->h.len[0], F_S0_TRUNC);
    ring_path.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// Result, arguments and up to three user strings (rename/link/symlink pairs, mount's dev, dir and type).
int exit_str2(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 0);
    if (!c)
        return 0;
    u8 s0 = c->s0, s1 = c->s1, s2 = c->s2;
    u16 evt = c->evt;
    struct big_rec *r = ring_big.ringbuf_reserve(sizeof(struct big_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    fill_hdr(&r->h, e.id, e.nr, e.ret, evt, flags, &s);
    if (s0 < 6)
        r->h.flags |= read_str(r->s0, s.a[s0 & 7], &r->h.len[0], F_S0_TRUNC);
    if (s1 < 6)
        r->h.flags |= read_str(r->s1, s.a[s1 & 7], &r->h.len[1], F_S1_TRUNC);
    if (s2 < 6)
        read_str(r->b0, s.a[s2 & 7], &r->h.len[2], 0);
    ring_big.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// The socket behind `fd` of the current task (0 when there is none).
static __always_inline u64 sock_of_fd(u64 fd) {
    u64 task = bpf_get_current_task();
    u64 files = read_u64(task + OFF_TASK_FILES);
    u64 fdt = read_u64(files + OFF_FILES_FDT);
    u32 max_fds = read_u32(fdt + OFF_FDT_MAX_FDS);
    if (fd >= max_fds)
        return 0;
    u64 fd_array = read_u64(fdt + OFF_FDT_FD);
    u64 file = read_u64(fd_array + fd * 8);
    if (!file)
        return 0;
    u64 socket = read_u64(file + OFF_FILE_PRIVATE);
    if (!socket)
        return 0;
    return read_u64(socket + OFF_SOCKET_SK);
}

// Raw tuple at dst: u16 family, u16 local port, u16 remote port (host order), u16 0, local addr[16],
// remote addr[16]. Unix sockets: local addr = the sock's address (its identity), remote = 0.
static __always_inline u16 read_tuple(char *dst, u64 sk) {
    if (!sk)
        return 0;
    u16 family = read_u16(sk + OFF_SKC_FAMILY);
    u16 lport = read_u16(sk + OFF_SKC_NUM);
    u16 rport = read_u16(sk + OFF_SKC_DPORT);
    rport = (rport >> 8) | (rport << 8);
    __builtin_memcpy(dst, &family, 2);
    __builtin_memcpy(dst + 2, &lport, 2);
    __builtin_memcpy(dst + 4, &rport, 2);
    if (family == 2) {
        bpf_probe_read_kernel(dst + 8, 4, (void *)(sk + OFF_SKC_RCV_SADDR));
        bpf_probe_read_kernel(dst + 24, 4, (void *)(sk + OFF_SKC_DADDR));
    } else if (family == 10) {
        bpf_probe_read_kernel(dst + 8, 16, (void *)(sk + OFF_SKC_V6_RCV_SADDR));
        bpf_probe_read_kernel(dst + 24, 16, (void *)(sk + OFF_SKC_V6_DADDR));
    } else if (family == 1) {
        __builtin_memcpy(dst + 8, &sk, 8);
    } else {
        return 0;
    }
    return SOCK_TUPLE_LEN;
}

// A socket call's tuple (fd = argument 0, or the result for accept) at `area`, and the user's sockaddr after it
// (argument s0 with its length in argument s1, or behind a pointer there; or the msg_name of a msghdr):
// their lengths go to len[0] and len[1].
static __always_inline void put_sock(char *area, u16 *len, s64 ret, u8 s0, u8 s1, u16 cflags, struct stash *s) {
    u64 fd = (cflags & CF_SOCK_FD_RES) ? (u64)ret : (u64)(u32)s->a[0];
    if (ret >= 0 || ret == -115)  // -EINPROGRESS: a non-blocking connect has its local address
        len[0] = read_tuple(area, sock_of_fd(fd));
    u64 addr = 0, addrlen = 0;
    if (cflags & CF_MSGHDR) {
        if (s0 < 6) {
            u64 msg = s->a[s0 & 7];
            bpf_probe_read_user(&addr, 8, (void *)msg);
            u32 namelen = 0;
            bpf_probe_read_user(&namelen, 4, (void *)(msg + 8));
            addrlen = namelen;
        }
    } else if (s0 < 6 && s1 < 6) {
        addr = s->a[s0 & 7];
        addrlen = s->a[s1 & 7];
        if ((cflags & CF_ADDRLEN_PTR) && addrlen) {
            u32 value = 0;
            bpf_probe_read_user(&value, 4, (void *)addrlen);
            addrlen = value;
        }
    }
    if (addr && addrlen) {
        u32 n = addrlen > SOCKADDR_MAX ? SOCKADDR_MAX : (u32)addrlen;
        if (n > SOCKADDR_MAX)
            n = SOCKADDR_MAX;
        if (bpf_probe_read_user(area + SOCK_TUPLE_LEN, n, (void *)addr) == 0)
            len[1] = n;
    }
}

// How many bytes of an I/O call's buffer to keep: what it moved (a failed read moved nothing; a failed write
// shows up to `size`, what it was given), at most SNAPLEN.
static __always_inline u32 data_len(s64 ret, u64 size, u16 cflags) {
    u64 n = ret > 0 ? (u64)ret : ((cflags & CF_DATA_OUT) ? size : 0);
    return n > SNAPLEN ? SNAPLEN : (u32)n;
}

// The data of a call with one buffer (argument 1, of size argument 2) into `dst`, its length into *len.
static __always_inline void put_data(char *dst, u16 *len, s64 ret, struct stash *s, u16 cflags) {
    u32 n = data_len(ret, s->a[2], cflags);
    if (n > SNAPLEN)
        n = SNAPLEN;
    if (n && bpf_probe_read_user(dst, n, (void *)s->a[1]) == 0)
        *len = n;
}

// Socket calls: tuple and address (put_sock); sendto/recvfrom also the data, after them.
int exit_sock(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 0);
    if (!c)
        return 0;
    u8 s0 = c->s0, s1 = c->s1;
    u16 evt = c->evt, cflags = c->flags;
    struct path_rec *r = ring_path.ringbuf_reserve(sizeof(struct path_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    fill_hdr(&r->h, e.id, e.nr, e.ret, evt, flags, &s);
    put_sock(r->s0, r->h.len, e.ret, s0, s1, cflags, &s);
    if (cflags & CF_DATA)
        put_data(r->s0 + SOCK_DATA_AT, &r->h.len[2], e.ret, &s, cflags);
    ring_path.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// read/write/pread/pwrite: result, arguments and the data (buffer = argument 1, size = argument 2).
int exit_data(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 0);
    if (!c)
        return 0;
    u16 evt = c->evt, cflags = c->flags;
    struct path_rec *r = ring_path.ringbuf_reserve(sizeof(struct path_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    fill_hdr(&r->h, e.id, e.nr, e.ret, evt, flags, &s);
    put_data(r->s0, &r->h.len[0], e.ret, &s, cflags);
    ring_path.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// The first `limit` (at most SNAPLEN) bytes of the buffers of an iovec array, read into `dst`; returns how many
// were read and puts the sum of the lengths of the first IOV_READ iovecs in *total.
static __always_inline u16 read_iov(char *dst, u64 iov, u64 cnt, u32 limit, u64 *total) {
    u32 used = 0;
    u64 sum = 0;
    for (int i = 0; i < IOV_READ; i++) {
        if (i >= cnt)
            break;
        u64 vec[2] = {};  // iov_base, iov_len
        if (bpf_probe_read_user(vec, sizeof(vec), (void *)(iov + 16 * i)))
            break;
        sum += vec[1];
        u32 want = used < limit ? limit - used : 0;
        u32 n = vec[1] < want ? (u32)vec[1] : want;
        if (n > SNAPLEN)
            n = SNAPLEN;
        if (n && used < SNAPLEN && bpf_probe_read_user(dst + (used & 127), n, (void *)vec[0]) == 0)
            used += n;
    }
    *total = sum;
    return used;
}

// readv/writev/preadv/pwritev (iovecs = arguments 1 and 2) and sendmsg/recvmsg (the msghdr's, with the tuple
// and address of put_sock): result, arguments, the data in b0 (its length in len[2]) and the iovecs' total
// length in register 5 (unused by these calls).
int exit_iov(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 0);
    if (!c)
        return 0;
    u8 s0 = c->s0, s1 = c->s1;
    u16 evt = c->evt, cflags = c->flags;
    struct big_rec *r = ring_big.ringbuf_reserve(sizeof(struct big_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    fill_hdr(&r->h, e.id, e.nr, e.ret, evt, flags, &s);
    u64 iov = s.a[1], cnt = s.a[2];
    if (cflags & CF_MSGHDR) {
        put_sock(r->s0, r->h.len, e.ret, s0, s1, cflags, &s);
        bpf_probe_read_user(&iov, 8, (void *)(s.a[1] + 16));  // msg_iov
        bpf_probe_read_user(&cnt, 8, (void *)(s.a[1] + 24));  // msg_iovlen
    }
    u64 total = 0;
    r->h.len[2] = read_iov(r->b0, iov, cnt, data_len(e.ret, SNAPLEN, cflags), &total);
    r->h.a[5] = total;
    ring_big.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

static __always_inline u32 parent_tgid(u64 task) {
    return read_u32(read_u64(task + OFF_TASK_REAL_PARENT) + OFF_TASK_TGID);
}

// --- process details: pid-namespace ids, controlling tty, cwd, cgroups ---------------------------------

// The task's id in its own (deepest) pid namespace: thread_pid->numbers[thread_pid->level].nr.
static __always_inline u32 ns_id(u64 task) {
    u64 pid = read_u64(task + OFF_TASK_THREAD_PID);
    if (!pid)
        return 0;
    u32 level = read_u32(pid + OFF_PID_LEVEL);
    return read_u32(pid + OFF_PID_NUMBERS + (u64)level * SIZE_UPID + OFF_UPID_NR);
}

// vtid in the low half, vpid (the group leader's id in its namespace) in the high half.
static __always_inline u64 ns_ids(u64 task) {
    return (u64)ns_id(task) | ((u64)ns_id(read_u64(task + OFF_TASK_GROUP_LEADER)) << 32);
}

// The controlling terminal as /proc/<pid>/stat's tty_nr and the Falco driver give it:
// new_encode_dev(MKDEV(driver->major, driver->minor_start) + tty->index); 0 when there is none.
static __always_inline u32 tty_nr(u64 task) {
    u64 tty = read_u64(read_u64(task + OFF_TASK_SIGNAL) + OFF_SIGNAL_TTY);
    if (!tty)
        return 0;
    u64 driver = read_u64(tty + OFF_TTY_DRIVER);
    if (!driver)
        return 0;
    u32 major = read_u32(driver + OFF_TTY_DRIVER_MAJOR);
    u32 minor = read_u32(driver + OFF_TTY_DRIVER_MINOR_START) + read_u32(tty + OFF_TTY_INDEX);
    return (minor & 0xff) | (major << 8) | ((minor & ~0xffu) << 12);
}

// One path component (a kernel string) at the end of `area`, whose used length is *used (in the record);
// 0 once the area's first `half` bytes are used up or when the name cannot be read (the caller then flags
// the path as incomplete rather than leave a component out). `half` is a power of two: the mask shows the
// verifier that the write stays inside the area. The length is read back from the record (volatile) rather
// than kept in a register: the verifier then sees any length at every step and can prune the walks'
// states, which would otherwise differ at each step by the range of the length.
static __always_inline int put_name(char *area, u32 half, u16 *used, u64 name) {
    u32 off = *(volatile u16 *)used;
    if (off >= half)
        return 0;
    long n = bpf_probe_read_kernel_str(area + (off & (half - 1)), NAME_READ, (void *)name);
    if (n <= 0)
        return 0;
    *used = off + n;
    return 1;
}

// The cwd's components, leaf first, up to the task's root, crossing mount points (the walk of d_path);
// F_CWD_TRUNC when the depth or the area ran out first (or a name could not be read).
static __always_inline u16 put_cwd(struct details *d, u64 task) {
    u64 fs = read_u64(task + OFF_TASK_FS);
    u64 dentry = read_u64(fs + OFF_FS_PWD_DENTRY);
    u64 vfsmnt = read_u64(fs + OFF_FS_PWD_MNT);
    u64 root_dentry = read_u64(fs + OFF_FS_ROOT_DENTRY);
    u64 root_mnt = read_u64(fs + OFF_FS_ROOT_MNT);
    u16 flags = F_CWD_TRUNC;
    d->cwd_len = 0;
    for (int i = 0; i < CWD_DEPTH; i++) {
        if (!dentry || (dentry == root_dentry && vfsmnt == root_mnt)) {
            flags = 0;
            break;
        }
        u64 mnt = vfsmnt - OFF_MOUNT_MNT;  // container_of(vfsmnt, struct mount, mnt)
        if (dentry == read_u64(vfsmnt + OFF_VFSMOUNT_ROOT)) {
            u64 parent_mnt = read_u64(mnt + OFF_MOUNT_PARENT);
            if (parent_mnt == mnt) {  // the top of the mount tree: a cwd outside the task's root ends here
                flags = 0;
                break;
            }
            dentry = read_u64(mnt + OFF_MOUNT_MOUNTPOINT);
            vfsmnt = parent_mnt + OFF_MOUNT_MNT;
            continue;
        }
        u64 parent = read_u64(dentry + OFF_DENTRY_PARENT);
        if (parent == dentry) {  // the root of a detached filesystem: nothing above it
            flags = 0;
            break;
        }
        if (!put_name(d->cwd, CWD_HALF, &d->cwd_len, read_u64(dentry + OFF_DENTRY_NAME)))
            break;
        dentry = parent;
    }
    return flags;
}

// A cgroup's path components, leaf first, up to (not including) its hierarchy's root kernfs node.
// F_CGROUP_TRUNC when the depth or the area ran out first (the components nearest the root are missing) or
// a name could not be read.
static __always_inline u16 put_cgroup_path(struct details *d, u64 cgrp) {
    u64 kn = read_u64(cgrp + OFF_CGROUP_KN);
    for (int i = 0; i < CG_DEPTH; i++) {
        u64 parent = read_u64(kn + OFF_KN_PARENT);
        if (!parent)
            return 0;
        if (!put_name(d->cg, CG_HALF, &d->cg_len, read_u64(kn + OFF_KN_NAME)))
            return F_CGROUP_TRUNC;
        kn = parent;
    }
    return read_u64(kn + OFF_KN_PARENT) ? F_CGROUP_TRUNC : 0;
}

// Each controller's cgroup path (enum cgroup_subsys_id order). On a v1 hierarchy that is the cgroup of the
// task's css for the controller; on the default (v2) hierarchy the task's own cgroup there, for every
// controller, as /proc/<pid>/cgroup names it (a v2 controller not enabled down to the task's cgroup has its
// css higher up). Controllers in the same cgroup share one path.
static __always_inline u16 put_cgroups(struct details *d, u64 task) {
    u32 zero = 0;
    struct cgroups_seen *seen = cgroups_scratch.lookup(&zero);
    d->cg_len = 0;
    d->cg_dfl = 0;
    if (!seen)
        return F_CGROUP_TRUNC;
    u64 cset = read_u64(task + OFF_TASK_CGROUPS);
    u64 dfl = read_u64(cset + OFF_CSS_SET_DFL_CGRP);
    u64 dfl_root = read_u64(dfl + OFF_CGROUP_ROOT);
    u16 flags = 0;
    u16 on_dfl = 0;
    for (int i = 0; i < CGROUP_SUBSYS_COUNT; i++) {
        u64 cgrp = read_u64(read_u64(cset + OFF_CSS_SET_SUBSYS + i * 8) + OFF_CSS_CGROUP);
        if (read_u64(cgrp + OFF_CGROUP_ROOT) == dfl_root) {
            cgrp = dfl;
            on_dfl |= 1 << i;
        }
        seen->cgroup[i] = cgrp;
        int shared = -1;
        for (int j = 0; j < i; j++) {
            if (seen->cgroup[j] == cgrp) {
                shared = j;
                break;
            }
        }
        if (shared >= 0) {
            d->cg_at[i] = d->cg_at[shared];
            d->cg_end[i] = d->cg_end[shared];
            continue;
        }
        d->cg_at[i] = *(volatile u16 *)&d->cg_len;
        flags |= put_cgroup_path(d, cgrp);
        d->cg_end[i] = *(volatile u16 *)&d->cg_len;
    }
    d->cg_dfl = on_dfl;
    return flags;
}

// clone/clone3/fork/vfork, in the parent (result = child tid) and in the child (result 0).
// a[] = clone flags (raw; 0 in the child, whose arguments were never stashed), parent tgid, uid, gid,
// loginuid, the caller's pid-namespace ids (vtid | vpid << 32: a child in a new namespace is its pid 1);
// s0 = comm.
int exit_clone(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 1);
    if (!c)
        return 0;
    u16 evt = c->evt;
    u16 cflags = c->flags;
    struct path_rec *r = ring_path.ringbuf_reserve(sizeof(struct path_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    u64 clone_flags = s.a[0];
    if ((cflags & CF_CLONE3) && e.ret != 0)
        bpf_probe_read_user(&clone_flags, 8, (void *)s.a[0]);
    u64 task = bpf_get_current_task();
    u64 ugid = bpf_get_current_uid_gid();
    s.a[0] = e.ret == 0 ? 0 : clone_flags;
    s.a[1] = parent_tgid(task);
    s.a[2] = (u32)ugid;
    s.a[3] = ugid >> 32;
    s.a[4] = read_u32(task + OFF_TASK_LOGINUID);
    s.a[5] = ns_ids(task);
    fill_hdr(&r->h, e.id, e.nr, e.ret, evt, flags, &s);
    r->h.len[0] = read_comm(r->s0);
    ring_path.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// sched_process_exec fires inside a successful execve, before its exit: keep the path the kernel executed.
TRACEPOINT_PROBE(sched, sched_process_exec) {
    u64 id = bpf_get_current_pid_tgid();
    if (is_ignored(id))
        return 0;
    u32 zero = 0;
    struct exec_path *p = exec_scratch.lookup(&zero);
    if (!p)
        return 0;
    unsigned short loc = args->data_loc_filename & 0xFFFF;
    long n = bpf_probe_read_kernel_str(p->name, STR_LEN, (char *)args + loc);
    p->len = n > 0 ? (u16)n : 0;
    exec_paths.update(&id, p);
    return 0;
}

// The new program runs from an anonymous memory file (memfd_create): its file's name is "memfd:<name>".
static __always_inline int exe_is_memfd(u64 mm) {
    u64 file = read_u64(mm + OFF_MM_EXE_FILE);
    u64 dentry = file ? read_u64(file + OFF_FILE_DENTRY) : 0;
    u64 name = dentry ? read_u64(dentry + OFF_DENTRY_NAME) : 0;
    char prefix[8] = {};
    if (!name || bpf_probe_read_kernel(prefix, 6, (void *)name) != 0)
        return 0;
    return prefix[0] == 'm' && prefix[1] == 'e' && prefix[2] == 'm' && prefix[3] == 'f' && prefix[4] == 'd' &&
           prefix[5] == ':';
}

// Which overlayfs layer the program's file comes from: F_EXE_UPPER when its overlay inode has an upper dentry
// (written in the container), F_EXE_LOWER when it has none; 0 off overlayfs, or when the kernel's BTF has no
// struct ovl_inode (OFF_OVL_INODE_* = -1).
static __always_inline u16 exe_layer(u64 mm) {
#if OFF_OVL_INODE_UPPERDENTRY >= 0 && OFF_OVL_INODE_VFS_INODE >= 0 && OFF_FILE_F_INODE >= 0
    u64 file = read_u64(mm + OFF_MM_EXE_FILE);
    u64 inode = file ? read_u64(file + OFF_FILE_F_INODE) : 0;
    u64 sb = inode ? read_u64(inode + OFF_INODE_I_SB) : 0;
    if (!sb || read_u64(sb + OFF_SB_S_MAGIC) != OVERLAYFS_SUPER_MAGIC)
        return 0;
    u64 upper = read_u64(inode - OFF_OVL_INODE_VFS_INODE + OFF_OVL_INODE_UPPERDENTRY);
    return upper ? F_EXE_UPPER : F_EXE_LOWER;
#else
    return 0;
#endif
}

#define NSEC_MASK 0x3FFFFFFF  // nanoseconds need 30 bits; the kernel may use the ones above as flags

// The program's inode: number, change and modification times (0 when the kernel's BTF lacks the offsets).
static __always_inline void put_exe_inode(struct details *d, u64 mm) {
#if OFF_INODE_I_INO >= 0 && OFF_INODE_CTIME_SEC >= 0 && OFF_INODE_MTIME_SEC >= 0 && OFF_FILE_F_INODE >= 0
    u64 file = read_u64(mm + OFF_MM_EXE_FILE);
    u64 inode = file ? read_u64(file + OFF_FILE_F_INODE) : 0;
    if (!inode)
        return;
    d->exe_ino = read_u64(inode + OFF_INODE_I_INO);
    // Since Linux 6.13 bit 31 of the ctime's nanoseconds flags a queried ctime (multigrain timestamps): masked.
    d->exe_ctime = read_u64(inode + OFF_INODE_CTIME_SEC) * 1000000000ULL +
                   (read_u32(inode + OFF_INODE_CTIME_NSEC) & NSEC_MASK);
    d->exe_mtime = read_u64(inode + OFF_INODE_MTIME_SEC) * 1000000000ULL +
                   (read_u32(inode + OFF_INODE_MTIME_NSEC) & NSEC_MASK);
#endif
}

// When the init (child reaper) of the task's children's pid namespace started: a container's start.
static __always_inline u64 pidns_start(u64 task) {
#if OFF_TASK_NSPROXY >= 0 && OFF_NSPROXY_PID_NS_FOR_CHILDREN >= 0 && OFF_PIDNS_CHILD_REAPER >= 0 && OFF_TASK_START_TIME >= 0
    u64 nsproxy = read_u64(task + OFF_TASK_NSPROXY);
    u64 ns = nsproxy ? read_u64(nsproxy + OFF_NSPROXY_PID_NS_FOR_CHILDREN) : 0;
    u64 reaper = ns ? read_u64(ns + OFF_PIDNS_CHILD_REAPER) : 0;
    return reaper ? read_u64(reaper + OFF_TASK_START_TIME) : 0;
#else
    return 0;
#endif
}

// execve/execveat (exec ring). Success: s0 = executed path, s1 = comm, b0 = the argv area, b1 = the env area
// (both NUL-separated, capped), d = the new process's details (struct details); failure: s0 = the filename
// argument. a[] = parent tgid, loginuid, uid, gid, full argv length, full env length.
int exit_exec(void *ctx) {
    struct exit_args e;
    struct stash s = {};
    u16 flags = 0;
    struct conf *c = exit_start(ctx, &e, &s, &flags, 0);
    if (!c)
        return 0;
    u16 evt = c->evt;
    u16 cflags = c->flags;
    struct exec_rec *r = ring_exec.ringbuf_reserve(sizeof(struct exec_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    u64 filename = (cflags & CF_EXECAT) ? s.a[1] : s.a[0];
    u64 task = bpf_get_current_task();
    u64 ugid = bpf_get_current_uid_gid();
    s.a[0] = parent_tgid(task);
    s.a[1] = read_u32(task + OFF_TASK_LOGINUID);
    s.a[2] = (u32)ugid;
    s.a[3] = ugid >> 32;
    s.a[4] = 0;
    s.a[5] = 0;
    fill_hdr(&r->h, e.id, e.nr, e.ret, evt, flags, &s);
    r->h.len[1] = read_comm(r->s1);
    if (e.ret != 0) {
        r->h.flags |= read_str(r->s0, filename, &r->h.len[0], F_S0_TRUNC);
        ring_exec.ringbuf_submit(r, 0);
        count(C_EVENTS);
        return 0;
    }
    struct exec_path *p = exec_paths.lookup(&e.id);
    if (p) {
        u16 n = p->len;
        if (n > STR_LEN)
            n = STR_LEN;
        bpf_probe_read_kernel(r->s0, n, p->name);
        r->h.len[0] = n;
        exec_paths.delete(&e.id);
    }
    u64 mm = read_u64(task + OFF_TASK_MM);
    u64 arg_start = read_u64(mm + OFF_MM_ARG_START);
    u64 arg_end = read_u64(mm + OFF_MM_ARG_END);
    u64 env_start = read_u64(mm + OFF_MM_ENV_START);
    u64 env_end = read_u64(mm + OFF_MM_ENV_END);
    if (exe_is_memfd(mm))
        r->h.flags |= F_EXE_MEMFD;
    r->h.flags |= exe_layer(mm);
    u64 args_len = arg_end > arg_start ? arg_end - arg_start : 0;
    u64 env_len = env_end > env_start ? env_end - env_start : 0;
    r->h.a[4] = args_len;
    r->h.a[5] = env_len;
    u32 n = args_len > ARGS_LEN ? ARGS_LEN : (u32)args_len;
    if (args_len > ARGS_LEN)
        r->h.flags |= F_ARGS_TRUNC;
    if (n > ARGS_LEN)
        n = ARGS_LEN;
    if (bpf_probe_read_user(r->b0, n, (void *)arg_start) == 0)
        r->h.len[2] = n;
    u32 m = env_len > ENV_LEN ? ENV_LEN : (u32)env_len;
    if (env_len > ENV_LEN)
        r->h.flags |= F_ENV_TRUNC;
    if (m > ENV_LEN)
        m = ENV_LEN;
    if (bpf_probe_read_user(r->b1, m, (void *)env_start) == 0)
        r->h.len[3] = m;
    u64 ids = ns_ids(task);
    r->d.vtid = (u32)ids;
    r->d.vpid = ids >> 32;
    r->d.tty = tty_nr(task);
    put_caps(r->d.caps, task);
    put_exe_inode(&r->d, mm);
    r->d.pidns_start = pidns_start(task);
    r->h.flags |= put_cwd(&r->d, task);
    r->h.flags |= put_cgroups(&r->d, task);
    ring_exec.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// A thread ends (exit, exit_group, fatal signal): procexit with the exit code in a[0].
TRACEPOINT_PROBE(sched, sched_process_exit) {
    u64 id = bpf_get_current_pid_tgid();
    u32 tgid = id >> 32;
    if (is_ignored(id)) {
        if ((u32)id == tgid)
            ignored.delete(&tgid);  // the pid may be reused by an unrelated process
        return 0;
    }
    struct small_rec *r = ring_small.ringbuf_reserve(sizeof(struct small_rec));
    if (!r) {
        count(C_DROPS);
        return 0;
    }
    struct stash s = {};
    s.a[0] = read_u32(bpf_get_current_task() + OFF_TASK_EXIT_CODE);
    fill_hdr(&r->h, id, 0xFFFF, 0, PPME_PROCEXIT_1_E, 0, &s);
    ring_small.ringbuf_submit(r, 0);
    count(C_EVENTS);
    return 0;
}

// Children of a process ignored with its descendants (value 2) are ignored too, from their first event.
TRACEPOINT_PROBE(sched, sched_process_fork) {
    u32 parent = bpf_get_current_pid_tgid() >> 32;
    u8 *mode = ignored.lookup(&parent);
    if (!mode || *mode != 2)
        return 0;
    u32 child = args->child_pid;
    u8 follow = 2;
    ignored.update(&child, &follow);
    return 0;
}
