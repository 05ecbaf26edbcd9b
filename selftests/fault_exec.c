// SPDX-License-Identifier: GPL-2.0
/*
 * fault_exec: run a program and put each of its processes under fault
 * injection (/proc/<pid>/make-it-fail) from that process's first socket()
 * or socketpair() of the given family on; for fault_inject.sh.
 *
 *   fault_exec [-f FAMILY] [-t TRACEFS_PID_FILE] program [args...]
 *
 * Without -f, any family arms.
 *
 * Armed from the start, a program spends its failures in execve() (which
 * past its point of no return ends in SIGSEGV, or E2BIG from copy_strings),
 * in the C library's start-up and in the harness's fork(): noise about
 * exec and libc, little about sockets. So the program runs under ptrace,
 * followed across fork and clone; a process that enters socket() or
 * socketpair() for FAMILY is armed right there (that call is the first
 * that may fail), added to the tracer's set_event_pid with -t, and let
 * go. Its own children inherit the flag. A test harness parent that never
 * opens a socket stays unarmed and traced, and each test child it forks
 * is armed at its first socket; a shell test's ip and tc (netlink) stay
 * unarmed, its helpers that open KTP sockets do not.
 *
 * Exits with the program's status, 128 + signal if it was killed, 127 if
 * it could not be run.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *trace_pids;
static long family = -1;

static int write_str(const char *path, const char *val)
{
	int fd, ret = 0;

	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	if (write(fd, val, strlen(val)) < 0)
		ret = -1;
	close(fd);
	return ret;
}

static int status_of(int st)
{
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return 127;
}

static long peek_reg(pid_t pid, size_t off)
{
	return ptrace(PTRACE_PEEKUSER, pid, off, NULL);
}

/* At a syscall stop: is the task entering socket() or socketpair() for
 * the family we arm on?
 */
static int entering_socket(pid_t pid)
{
	long nr, rax, fam;

	errno = 0;
	nr = peek_reg(pid, offsetof(struct user_regs_struct, orig_rax));
	rax = peek_reg(pid, offsetof(struct user_regs_struct, rax));
	fam = peek_reg(pid, offsetof(struct user_regs_struct, rdi));
	if (errno)
		return 0;
	/* On entry the kernel has not set a return value yet. */
	if (rax != -ENOSYS || (nr != SYS_socket && nr != SYS_socketpair))
		return 0;
	return family < 0 || (int)fam == family;
}

static void arm(pid_t pid)
{
	char path[64], val[16];

	snprintf(path, sizeof(path), "/proc/%d/make-it-fail", pid);
	snprintf(val, sizeof(val), "%d\n", pid);
	if (write_str(path, "1\n") < 0 ||
	    (trace_pids && write_str(trace_pids, val) < 0)) {
		perror("fault_exec: arming");
		kill(pid, SIGKILL);
	}
}

/* Handle one ptrace stop of a traced task and let it go on. */
static void on_stop(pid_t pid, int st)
{
	int sig = WSTOPSIG(st), event = st >> 16;

	if (sig == (SIGTRAP | 0x80)) {
		if (entering_socket(pid)) {
			arm(pid);
			ptrace(PTRACE_DETACH, pid, NULL, NULL);
			return;
		}
		sig = 0;
	} else if (event || sig == SIGTRAP || sig == SIGSTOP) {
		/* fork/clone events, an exec's trap, a new child's first
		 * stop: ours, not the program's.
		 */
		sig = 0;
	}
	ptrace(PTRACE_SYSCALL, pid, NULL, (void *)(long)sig);
}

int main(int argc, char **argv)
{
	int st, argi = 1, rc = 127;
	pid_t pid, w;

	while (argi + 1 < argc && argv[argi][0] == '-') {
		if (!strcmp(argv[argi], "-t"))
			trace_pids = argv[argi + 1];
		else if (!strcmp(argv[argi], "-f"))
			family = strtol(argv[argi + 1], NULL, 10);
		else
			break;
		argi += 2;
	}
	if (argi >= argc || argv[argi][0] == '-') {
		fprintf(stderr,
			"usage: fault_exec [-f FAMILY] [-t FILE] program [args]\n");
		return 127;
	}

	pid = fork();
	if (pid < 0) {
		perror("fault_exec: fork");
		return 127;
	}
	if (!pid) {
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
		execvp(argv[argi], argv + argi);
		fprintf(stderr, "fault_exec: %s: %s\n", argv[argi],
			strerror(errno));
		_exit(127);
	}

	/* The exec completed: the child sits at its SIGTRAP stop. */
	if (waitpid(pid, &st, 0) < 0 || !WIFSTOPPED(st))
		return status_of(st);
	ptrace(PTRACE_SETOPTIONS, pid, NULL,
	       (void *)(PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEFORK |
			PTRACE_O_TRACEVFORK | PTRACE_O_TRACECLONE));
	ptrace(PTRACE_SYSCALL, pid, NULL, NULL);

	/* Until no traced task and no child of ours is left. */
	while ((w = waitpid(-1, &st, __WALL)) > 0 || errno == EINTR) {
		if (w <= 0)
			continue;
		if (WIFSTOPPED(st))
			on_stop(w, st);
		else if (w == pid)
			rc = status_of(st);
	}
	return rc;
}
