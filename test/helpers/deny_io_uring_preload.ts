// Preload (`node --require`): makes io_uring_setup fail with EPERM in this process, its threads
// and its children, the way Docker's default seccomp profile does. Real kernel enforcement, so
// the fallback path under test is the one users get, not a simulation.
import { denySyscalls, SYS_io_uring_setup } from '../../native/seccomp';

const EPERM = 1;
denySyscalls([SYS_io_uring_setup], EPERM);
