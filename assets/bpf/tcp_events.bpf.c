// SPDX-License-Identifier: GPL-2.0
// tcpscope's kernel event source: the TCP tracepoints the tracker needs, each event with the
// network namespace of its socket (which the tracefs record lacks), read by user space from one
// ring buffer. Built by build.sh with Debian's clang; the object beside this file is committed.
//
// The types below are the few kernel types this program reads, declared by hand with
// preserve_access_index: field offsets are relocated against the running kernel's BTF at load
// time (CO-RE), so no vmlinux.h is needed and the object does not depend on the build host.

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define AF_INET 2
#define AF_INET6 10
#define IPPROTO_TCP 6

// The trace record header: `flags` tells interrupt context apart (TRACE_FLAG_*).
struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
} __attribute__((preserve_access_index));

struct trace_event_raw_inet_sock_set_state {
	struct trace_entry ent;
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

// tcp_receive_reset, tcp_destroy_sock.
struct trace_event_raw_tcp_event_sk {
	struct trace_entry ent;
	const void *skaddr;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
} __attribute__((preserve_access_index));

// tcp_send_reset (Linux 6.10 and later): the ends as struct sockaddr_in / sockaddr_in6.
struct trace_event_raw_tcp_send_reset {
	struct trace_entry ent;
	const void *skbaddr;
	const void *skaddr;
	int state;
	__u8 saddr[28];
	__u8 daddr[28];
} __attribute__((preserve_access_index));

struct ns_common {
	unsigned int inum;
} __attribute__((preserve_access_index));

// The established hash table, where a timewait socket takes its full socket's place.
struct hlist_nulls_node {
	struct hlist_nulls_node *next;
} __attribute__((preserve_access_index));

struct inet_ehash_bucket {
	struct {
		struct hlist_nulls_node *first;
	} chain;
} __attribute__((preserve_access_index));

struct inet_hashinfo {
	struct inet_ehash_bucket *ehash;
	unsigned int ehash_mask;
} __attribute__((preserve_access_index));

// Linux 6.1 and later: the namespace's timewait bookkeeping names its hash table.
struct inet_timewait_death_row {
	struct inet_hashinfo *hashinfo;
} __attribute__((preserve_access_index));

struct netns_ipv4 {
	struct inet_timewait_death_row tcp_death_row;
} __attribute__((preserve_access_index));

struct net {
	struct ns_common ns;
	struct netns_ipv4 ipv4;
} __attribute__((preserve_access_index));

typedef struct {
	struct net *net;
} possible_net_t;

// Read whole and compared as two halves.
struct in6_addr {
	__u64 half[2];
};

struct sock_common {
	__u64 skc_addrpair;
	unsigned int skc_hash;
	__u32 skc_portpair;
	unsigned short skc_family;
	volatile unsigned char skc_state;
	possible_net_t skc_net;
	struct in6_addr skc_v6_daddr;
	struct in6_addr skc_v6_rcv_saddr;
	struct hlist_nulls_node skc_nulls_node;
	unsigned long skc_flags; // Linux 6.13 and later
} __attribute__((preserve_access_index));

struct sock {
	struct sock_common __sk_common;
	unsigned long sk_flags; // before Linux 6.13
} __attribute__((preserve_access_index));

// enum sock_flags: SOCK_DEAD = 0, SOCK_DONE = 1 (set by tcp_fin(): the peer's FIN arrived).
#define SOCK_DONE_BIT 1

enum kind { SET_STATE = 0, SEND_RESET = 1, RECEIVE_RESET = 2, DESTROY = 3 };

#define FLAG_FIN_RECEIVED 1
// At FIN_WAIT2 or CLOSING -> CLOSE: the established hash table was searched for a timewait
// socket on the same 4-tuple (CHECKED), and one was there (FOUND). Without one the kernel had
// no room for it (TcpExtTCPTimeWaitOverflow) or closed for good: a real close.
#define FLAG_TIMEWAIT_CHECKED 2
#define FLAG_TIMEWAIT_FOUND 4

#define TCP_TIME_WAIT 6
#define TCP_FIN_WAIT2 5
#define TCP_CLOSING 11
// Chains are a few sockets long (the table is sized to the host); a longer one is not
// searched to its end, and the event says nothing then.
#define MAX_CHAIN 16

// 88 bytes; decoded by src/sources/bpf/record.rs, which must change with it.
struct event {
	__u64 ts_ns;
	__u64 skaddr;
	__u32 netns;
	__u32 tgid;
	__u8 kind;
	__u8 oldstate;
	__u8 newstate;
	__u8 flags;
	__u16 family;
	__u16 sport;
	__u16 dport;
	__u8 pad2;
	__u8 pad0;
	__u32 pad1;
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} EVENTS SEC(".maps");

// [0]: the network namespace inode to report (0: every namespace).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} TARGET_NETNS SEC(".maps");

// [0]: events the ring buffer had no room for.
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} LOST SEC(".maps");

// The reader is never woken: it reads every 10 ms on its own (16 MiB hold 190k events, a
// third of a second at full churn). A wake-up per event would cost more than the event, and
// even asking how much waits (bpf_ringbuf_query) costs a cache miss on the reader's position:
// 340 ns per set_state run without it here, 635 ns with it.

static __always_inline __u32 netns_of(const void *skaddr)
{
	const struct sock *sk = skaddr;
	if (!sk)
		return 0;
	return BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
}

// 0 when the event is not to be reported (another namespace's).
static __always_inline int wanted(__u32 netns)
{
	__u32 zero = 0;
	__u32 *target = bpf_map_lookup_elem(&TARGET_NETNS, &zero);
	return !target || *target == 0 || netns == 0 || *target == netns;
}

static __always_inline struct event *reserve(void)
{
	struct event *e = bpf_ringbuf_reserve(&EVENTS, sizeof(*e), 0);
	if (!e) {
		__u32 zero = 0;
		__u64 *lost = bpf_map_lookup_elem(&LOST, &zero);
		if (lost)
			*lost += 1;
	}
	return e;
}

static __always_inline void submit(struct event *e)
{
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void fill_common(struct event *e, const void *skaddr, __u32 netns)
{
	e->ts_ns = bpf_ktime_get_ns();
	e->skaddr = (__u64)skaddr;
	e->netns = netns;
	e->tgid = bpf_get_current_pid_tgid() >> 32;
	e->pad2 = 0;
	e->pad0 = 0;
	e->pad1 = 0;
	e->flags = 0;
	e->oldstate = 0;
	e->newstate = 0;
	__builtin_memset(e->comm, 0, sizeof(e->comm));
}

// The family, ports and addresses of the two contexts that store them alike
// (inet_sock_set_state and the tcp_event_sk class). The addresses are copied with one probe
// read per family (the verifier refuses loads through a pointer computed from the context;
// each end's two addresses lie side by side: saddr, daddr, then saddr_v6, daddr_v6).
#define COPY_ENDS(e, ctx)                                                           \
	do {                                                                        \
		(e)->family = (ctx)->family;                                        \
		(e)->sport = (ctx)->sport;                                          \
		(e)->dport = (ctx)->dport;                                          \
		if ((e)->family == AF_INET6) {                                      \
			__u8 both[32];                                              \
			bpf_probe_read_kernel(both, sizeof(both), &(ctx)->saddr_v6); \
			__builtin_memcpy((e)->saddr, both, 16);                     \
			__builtin_memcpy((e)->daddr, both + 16, 16);                \
		} else {                                                            \
			__u32 both[2];                                              \
			bpf_probe_read_kernel(both, sizeof(both), &(ctx)->saddr);   \
			__builtin_memset((e)->saddr, 0, sizeof((e)->saddr));        \
			__builtin_memset((e)->daddr, 0, sizeof((e)->daddr));        \
			*(__u32 *)(e)->saddr = both[0];                             \
			*(__u32 *)(e)->daddr = both[1];                             \
		}                                                                   \
	} while (0)

// Whether a timewait socket of the same namespace and 4-tuple as the event's is in the
// established hash table: tcp_time_wait() puts it there in the full socket's place before
// tcp_done() sets CLOSE. The ends are the event's (from the tracepoint): by now the socket's
// local port (inet_num) is already cleared. Returns FLAG_TIMEWAIT_CHECKED, with
// FLAG_TIMEWAIT_FOUND when one is there; 0 when the table cannot be read on this kernel or the
// chain is too long to search.
static __always_inline __u8 timewait_took_over(const struct sock *sk, const struct event *e)
{
	const struct sock_common *skc = &sk->__sk_common;
	if (!bpf_core_field_exists(((struct net *)0)->ipv4.tcp_death_row.hashinfo))
		return 0;
	struct net *net = BPF_CORE_READ(skc, skc_net.net);
	struct inet_hashinfo *hinfo = BPF_CORE_READ(net, ipv4.tcp_death_row.hashinfo);
	if (!hinfo)
		return 0;
	struct inet_ehash_bucket *ehash = BPF_CORE_READ(hinfo, ehash);
	unsigned int mask = BPF_CORE_READ(hinfo, ehash_mask);
	unsigned int hash = BPF_CORE_READ(skc, skc_hash);
	// skc_portpair: the remote port in network order, then the local port in host order.
	__u32 ports = ((__u32)e->sport << 16) | __builtin_bswap16(e->dport);
	struct in6_addr local6 = {}, remote6 = {};
	__builtin_memcpy(&local6, e->saddr, sizeof(local6));
	__builtin_memcpy(&remote6, e->daddr, sizeof(remote6));
	// skc_addrpair: the remote address, then the local one.
	__u64 addrs = ((__u64)(__u32)local6.half[0] << 32) | (__u32)remote6.half[0];
	struct inet_ehash_bucket *bucket = &ehash[hash & mask];
	struct hlist_nulls_node *node = BPF_CORE_READ(bucket, chain.first);
	unsigned long node_at = bpf_core_field_offset(struct sock_common, skc_nulls_node);
	// The end of a chain is a "nulls" marker: an odd value, not a pointer, that tells the
	// bucket (its index, shifted left once). Sockets are freed and reused without waiting for
	// readers (SLAB_TYPESAFE_BY_RCU): one freed under us and put in another chain leads the
	// walk into that chain, so a walk that does not end at its own bucket's marker proves
	// nothing and starts again, as the kernel's own lookup does.
	unsigned long own_end = ((unsigned long)(hash & mask) << 1) | 1;
	for (int i = 0; i < MAX_CHAIN; i++) {
		if ((unsigned long)node & 1) {
			if ((unsigned long)node == own_end)
				return FLAG_TIMEWAIT_CHECKED;
			node = BPF_CORE_READ(bucket, chain.first);
			continue;
		}
		const struct sock_common *other = (const void *)((unsigned long)node - node_at);
		if (BPF_CORE_READ(other, skc_state) == TCP_TIME_WAIT &&
		    BPF_CORE_READ(other, skc_portpair) == ports &&
		    BPF_CORE_READ(other, skc_family) == e->family &&
		    BPF_CORE_READ(other, skc_net.net) == net) {
			int same;
			if (e->family == AF_INET6) {
				struct in6_addr d = {}, s = {};
				BPF_CORE_READ_INTO(&d, other, skc_v6_daddr);
				BPF_CORE_READ_INTO(&s, other, skc_v6_rcv_saddr);
				same = d.half[0] == remote6.half[0] && d.half[1] == remote6.half[1] &&
				       s.half[0] == local6.half[0] && s.half[1] == local6.half[1];
			} else {
				same = BPF_CORE_READ(other, skc_addrpair) == addrs;
			}
			if (same)
				return FLAG_TIMEWAIT_CHECKED | FLAG_TIMEWAIT_FOUND;
		}
		node = BPF_CORE_READ(node, next);
	}
	return 0;
}

// Only these transitions are made by a system call of the socket's owner (connect, listen,
// close, shutdown): the running task's name is worth reading for them alone.
static __always_inline int by_syscall(int old, int new)
{
	return (old == 7 /* CLOSE */ && (new == 2 /* SYN_SENT */ || new == 10 /* LISTEN */)) ||
	       (old == 1 /* ESTABLISHED */ && new == 4 /* FIN_WAIT1 */) ||
	       (old == 8 /* CLOSE_WAIT */ && new == 9 /* LAST_ACK */);
}

// The context is read directly (its offsets relocated like the rest), but for its common
// header, which tracepoint programs may not load from, and the socket through CO-RE reads: a
// probe read costs more than a load, and this runs for every state change.
SEC("tracepoint/sock/inet_sock_set_state")
int set_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	const void *skaddr = ctx->skaddr;
	__u32 netns = netns_of(skaddr);
	if (!wanted(netns))
		return 0;
	struct event *e = reserve();
	if (!e)
		return 0;
	int old = ctx->oldstate, new = ctx->newstate;
	fill_common(e, skaddr, netns);
	if (by_syscall(old, new))
		bpf_get_current_comm(&e->comm, sizeof(e->comm));
	e->kind = SET_STATE;
	e->oldstate = old;
	e->newstate = new;
	// Only a change to CLOSE needs to know whether the peer's FIN had arrived.
	if (new == 7) {
		const struct sock *sk = skaddr;
		unsigned long sk_flags = 0;
		if (bpf_core_field_exists(sk->__sk_common.skc_flags))
			sk_flags = BPF_CORE_READ(sk, __sk_common.skc_flags);
		else if (bpf_core_field_exists(sk->sk_flags))
			sk_flags = BPF_CORE_READ(sk, sk_flags);
		if (sk_flags & (1UL << SOCK_DONE_BIT))
			e->flags |= FLAG_FIN_RECEIVED;
	}
	COPY_ENDS(e, ctx);
	if (new == 7 && (old == TCP_FIN_WAIT2 || old == TCP_CLOSING))
		e->flags |= timewait_took_over(skaddr, e);
	submit(e);
	return 0;
}

static __always_inline int sk_event(struct trace_event_raw_tcp_event_sk *ctx, __u8 kind)
{
	const void *skaddr = ctx->skaddr;
	__u32 netns = netns_of(skaddr);
	if (!wanted(netns))
		return 0;
	struct event *e = reserve();
	if (!e)
		return 0;
	fill_common(e, skaddr, netns);
	e->kind = kind;
	COPY_ENDS(e, ctx);
	submit(e);
	return 0;
}

SEC("tracepoint/tcp/tcp_receive_reset")
int receive_reset(struct trace_event_raw_tcp_event_sk *ctx)
{
	return sk_event(ctx, RECEIVE_RESET);
}

SEC("tracepoint/tcp/tcp_destroy_sock")
int destroy_sock(struct trace_event_raw_tcp_event_sk *ctx)
{
	return sk_event(ctx, DESTROY);
}

// The ends come as sockaddrs: the family, then the port and the address where each family
// keeps them. A reset for a segment that matched no socket has no skaddr, hence no namespace.
SEC("tracepoint/tcp/tcp_send_reset")
int send_reset(struct trace_event_raw_tcp_send_reset *ctx)
{
	const void *skaddr = ctx->skaddr;
	__u32 netns = netns_of(skaddr);
	if (!wanted(netns))
		return 0;
	__u8 src[28], dst[28];
	BPF_CORE_READ_INTO(&src, ctx, saddr);
	BPF_CORE_READ_INTO(&dst, ctx, daddr);
	struct event *e = reserve();
	if (!e)
		return 0;
	fill_common(e, skaddr, netns);
	e->kind = SEND_RESET;
	__u16 family = *(__u16 *)src;
	e->family = family;
	e->sport = __builtin_bswap16(*(__u16 *)&src[2]);
	e->dport = __builtin_bswap16(*(__u16 *)&dst[2]);
	__builtin_memset(e->saddr, 0, sizeof(e->saddr));
	__builtin_memset(e->daddr, 0, sizeof(e->daddr));
	if (family == AF_INET6) {
		__builtin_memcpy(e->saddr, &src[8], 16);
		__builtin_memcpy(e->daddr, &dst[8], 16);
	} else {
		__builtin_memcpy(e->saddr, &src[4], 4);
		__builtin_memcpy(e->daddr, &dst[4], 4);
	}
	submit(e);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
