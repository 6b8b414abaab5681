package storage

import "golang.org/x/sys/unix"

// Filesystem magic numbers of statfs(2) for filesystems that keep files in RAM.
const (
	tmpfsMagic = 0x01021994
	ramfsMagic = 0x858458f6
)

// ramFree reports whether dir is on a RAM-backed filesystem, and its free
// bytes.
func ramFree(dir string) (free uint64, ram bool, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, false, err
	}
	ram = st.Type == tmpfsMagic || st.Type == ramfsMagic
	return st.Bavail * uint64(st.Bsize), ram, nil
}
