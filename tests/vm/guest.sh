#!/bin/sh
# PID 1 of the VM lab, run from the host's root filesystem (read-only, with a tmpfs
# overlay): mounts the kernel filesystems and fresh tmpfs on /tmp and /run (the host's
# copies stay hidden), brings loopback up, runs /kbvm/cmd.sh (written by
# tests/vm/run.sh: environment, working directory and the command) with its output on
# the console, records its exit status in /kbvm/status and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mountpoint -q /dev || mount -t devtmpfs dev /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=620 devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
mount -t bpf bpf /sys/fs/bpf 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /run/netns /var/tmp
ln -sf /proc/self/fd /dev/fd 2>/dev/null
hostname kbvm
ip link set lo up
# A random source that does not wait for entropy (TLS keys for the fake API server).
modprobe virtio-rng 2>/dev/null
sysctl -qw kernel.panic_on_oops=1 kernel.printk="3 4 1 3"
# Plain newlines on the console (the host reads it as the command's output).
stty -F /dev/console -onlcr 2>/dev/null
touch /kbvm/booted
status=0
sh /kbvm/cmd.sh </dev/null || status=$?
echo "$status" > /kbvm/status
sync
/bin/busybox poweroff -f
echo o > /proc/sysrq-trigger
sleep 10
