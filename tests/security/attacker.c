/* A hostile container process for tests/security/test_runtime_files.py
 * (issue 9, class 2; CVE-2019-5736): for DURATION seconds it watches every
 * process it can see and tries to reach the runtime's own files through
 * /proc/PID/exe, /proc/PID/root and /proc/PID/cwd, and to ptrace it. At the
 * end it tries to re-open, for writing, every executable it got hold of
 * (the original exploit waited for the runtime to exit, then wrote).
 *
 * It prints one line per success that reaches outside the container:
 *   SAW-EXE pid      opened /proc/PID/exe of a program not in the container
 *   WRITE-EXE pid    ... and opened it for writing at once
 *   REOPEN-WRITE pid re-opened it for writing once the runtime had gone
 *   ROOT pid / CWD pid  /proc/PID/root or cwd is not the container's root
 *   PTRACE pid       attached to a process running a program not ours
 * and a final "DONE scans=N".  Nothing is ever written to a file it opens.
 * Usage: attacker SCAN_SECONDS PAUSE_SECONDS (then the re-open step).
 * Build: gcc -static -O1 -o attacker attacker.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_HELD 256

static struct stat own_exe, busybox, root_st;
static int held[MAX_HELD], held_pid[MAX_HELD], nheld;
/* Each process is grabbed (exe held, ptrace tried) once: attaching again
 * and again would only starve it, and keep it from ever finishing. */
#define MAX_SEEN 4096
static int seen[MAX_SEEN], nseen;

static int first_sight(int pid) {
    for (int i = 0; i < nseen; i++)
        if (seen[i] == pid)
            return 0;
    if (nseen < MAX_SEEN)
        seen[nseen++] = pid;
    return 1;
}

static int ours(const struct stat *st) {
    return (st->st_dev == own_exe.st_dev && st->st_ino == own_exe.st_ino) ||
           (st->st_dev == busybox.st_dev && st->st_ino == busybox.st_ino);
}

static int same(const struct stat *a, const struct stat *b) {
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

static void probe(int pid) {
    char path[64];
    struct stat st;
    int fd;

    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    fd = open(path, O_PATH | O_CLOEXEC);
    if (fd >= 0) {
        if (fstat(fd, &st) == 0 && !ours(&st) && first_sight(pid)) {
            printf("SAW-EXE %d\n", pid);
            int w = open(path, O_WRONLY | O_CLOEXEC);
            if (w >= 0) {
                printf("WRITE-EXE %d\n", pid);
                close(w);
            }
            if (nheld < MAX_HELD) {
                held_pid[nheld] = pid;
                held[nheld++] = fd;
                fd = -1;
            }
        }
        if (fd >= 0)
            close(fd);
    }
    snprintf(path, sizeof path, "/proc/%d/root/.", pid);
    if (stat(path, &st) == 0 && !same(&st, &root_st))
        printf("ROOT %d\n", pid);
    /* A cwd outside the container's root: climbing ".." from it never meets
     * the root, and stops where ".." is the directory itself. */
    snprintf(path, sizeof path, "/proc/%d/cwd", pid);
    fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
    for (int i = 0; fd >= 0 && i < 256; i++) {
        struct stat up_st;
        if (fstat(fd, &st) != 0 || same(&st, &root_st))
            break;
        int up = openat(fd, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (up < 0 || fstat(up, &up_st) != 0) {
            if (up >= 0)
                close(up);
            break;
        }
        if (same(&up_st, &st)) {
            printf("CWD %d\n", pid);
            close(up);
            break;
        }
        close(fd);
        fd = up;
    }
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "/proc/%d/exe", pid);
    if (lstat(path, &st) == 0) {
        struct stat target;
        if ((stat(path, &target) != 0 || !ours(&target)) && first_sight(-pid)) {
            if (ptrace(PTRACE_ATTACH, pid, 0, 0) == 0) {
                int status = 0;
                /* Stopped now, it cannot execve: what does it run? (It may
                 * have become one of our own programs since the check.) A
                 * process that was already exiting (one of ours, done) is
                 * reported as exited instead, and its exe is gone: no hit. */
                if (waitpid(pid, &status, __WALL) == pid && WIFSTOPPED(status)
                        && (stat(path, &target) != 0 || !ours(&target)))
                    printf("PTRACE %d\n", pid);
                ptrace(PTRACE_DETACH, pid, 0, 0);
            }
        }
    }
}

int main(int argc, char **argv) {
    int duration = argc > 1 ? atoi(argv[1]) : 5;
    int pause = argc > 2 ? atoi(argv[2]) : 1;
    long scans = 0;
    time_t end = time(NULL) + duration;

    setvbuf(stdout, NULL, _IOLBF, 0);
    if (stat("/proc/self/exe", &own_exe) || stat("/bin/busybox", &busybox) ||
        stat("/", &root_st)) {
        perror("stat");
        return 2;
    }
    printf("READY\n");
    while (time(NULL) < end) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        if (!d)
            return 2;
        while ((e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid > 0 && pid != getpid() && pid != getppid())
                probe(pid);
        }
        closedir(d);
        scans++;
    }
    /* The runtime's processes are gone by now (the host made sure during
     * this pause): the original exploit's second step. */
    printf("SCANNED\n");
    sleep(pause);
    for (int i = 0; i < nheld; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", held[i]);
        int w = open(path, O_WRONLY | O_CLOEXEC);
        if (w >= 0) {
            printf("REOPEN-WRITE %d\n", held_pid[i]);
            close(w);
        }
    }
    printf("DONE scans=%ld held=%d\n", scans, nheld);
    return 0;
}
