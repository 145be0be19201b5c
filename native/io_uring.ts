// io_uring's kernel ABI (include/uapi/linux/io_uring.h): struct layouts as byte offsets,
// opcodes and flags. No liburing: its prep helpers are static inline and cannot be bound.
export const IORING_OFF_SQ_RING = 0;
export const IORING_OFF_CQ_RING = 0x8000000;
export const IORING_OFF_SQES = 0x10000000;

export const IORING_FEAT_SINGLE_MMAP = 1 << 0;
export const IORING_FEAT_NODROP = 1 << 1;
export const IORING_FEAT_EXT_ARG = 1 << 8;

export const IORING_SETUP_CQSIZE = 1 << 3;
export const IORING_SETUP_CLAMP = 1 << 4;
export const IORING_SETUP_SUBMIT_ALL = 1 << 7;
export const IORING_SETUP_COOP_TASKRUN = 1 << 8;
export const IORING_SETUP_TASKRUN_FLAG = 1 << 9;
export const IORING_SETUP_SINGLE_ISSUER = 1 << 12;
export const IORING_SETUP_DEFER_TASKRUN = 1 << 13;

export const IORING_ENTER_GETEVENTS = 1 << 0;
export const IORING_ENTER_EXT_ARG = 1 << 3;

export const IORING_OP_NOP = 0;
export const IORING_OP_SENDMSG = 9;
export const IORING_OP_TIMEOUT = 11;
export const IORING_OP_ACCEPT = 13;
export const IORING_OP_ASYNC_CANCEL = 14;
export const IORING_OP_CONNECT = 16;
export const IORING_OP_CLOSE = 19;
export const IORING_OP_READ = 22;
export const IORING_OP_SEND = 26;
export const IORING_OP_RECV = 27;
export const IORING_OP_SHUTDOWN = 34;

export const IORING_REGISTER_PROBE = 8;
/** Linux 5.19+: a ring of buffers the kernel picks from when a receive has data (IOSQE_BUFFER_SELECT). */
export const IORING_REGISTER_PBUF_RING = 22;
export const IORING_UNREGISTER_PBUF_RING = 23;
/** SQE flag: take the buffer from the group in sqe->buf_group when the data is there. */
export const IOSQE_BUFFER_SELECT = 1 << 5;
/** CQE flag: a provided buffer was used; its id is flags >> IORING_CQE_BUFFER_SHIFT. */
export const IORING_CQE_F_BUFFER = 1 << 0;
export const IORING_CQE_BUFFER_SHIFT = 16;
/** struct io_uring_buf (16 bytes): addr u64 @0, len u32 @8, bid u16 @12, resv u16 @14. */
export const BUF_SIZE = 16;
export const BUF_ADDR = 0;
export const BUF_LEN = 8;
export const BUF_BID = 12;
/** struct io_uring_buf_ring: the tail (u16) overlays bufs[0].resv, at byte 14. */
export const BUF_RING_TAIL = 14;
/** struct io_uring_buf_reg (40 bytes): ring_addr u64 @0, ring_entries u32 @8, bgid u16 @12, flags u16 @14, then reserved. */
export const BUF_REG_SIZE = 40;
export const BUF_REG_ADDR = 0;
export const BUF_REG_ENTRIES = 8;
export const BUF_REG_BGID = 12;
export const IO_URING_OP_SUPPORTED = 1 << 0;
/** struct io_uring_probe: 16-byte header (last_op u8 @0, ops_len u8 @1), then 8-byte io_uring_probe_op entries (op u8, resv u8, flags u16). */
export const PROBE_HEADER_SIZE = 16;
export const PROBE_OP_SIZE = 8;

/** struct io_uring_params (120 bytes). */
export const PARAMS_SIZE = 120;
export const P_SQ_ENTRIES = 0;
export const P_CQ_ENTRIES = 4;
export const P_FLAGS = 8;
export const P_FEATURES = 20;
/** struct io_sqring_offsets at 40: head, tail, ring_mask, ring_entries, flags, dropped, array. */
export const P_SQ_OFF = 40;
/** struct io_cqring_offsets at 80: head, tail, ring_mask, ring_entries, overflow, cqes. */
export const P_CQ_OFF = 80;
export const P_CQ_ENTRIES_ARG = 4;
export const SQO_HEAD = 0;
export const SQO_TAIL = 4;
export const SQO_RING_MASK = 8;
export const SQO_RING_ENTRIES = 12;
export const SQO_ARRAY = 24;
export const CQO_HEAD = 0;
export const CQO_TAIL = 4;
export const CQO_RING_MASK = 8;
export const CQO_RING_ENTRIES = 12;
export const CQO_CQES = 20;

/** struct io_uring_sqe (64 bytes). */
export const SQE_SIZE = 64;
export const SQE_OPCODE = 0; // u8
export const SQE_FLAGS = 1; // u8
export const SQE_FD = 4; // s32
export const SQE_OFF = 8; // u64 (addr2 for accept: socklen_t *)
export const SQE_ADDR = 16; // u64
export const SQE_LEN = 24; // u32
export const SQE_OP_FLAGS = 28; // u32: msg_flags / timeout_flags / accept_flags / cancel_flags
export const SQE_USER_DATA = 32; // u64
export const SQE_BUF_GROUP = 40; // u16 (union with buf_index)

/** struct io_uring_cqe (16 bytes). */
export const CQE_SIZE = 16;
export const CQE_USER_DATA = 0;
export const CQE_RES = 8;
export const CQE_FLAGS = 12;

/** struct io_uring_getevents_arg (24 bytes): sigmask u64, sigmask_sz u32, pad u32, ts u64. */
export const GETEVENTS_ARG_SIZE = 24;
export const GEA_TS = 16;
/** struct __kernel_timespec (16 bytes). */
export const TIMESPEC_SIZE = 16;
