package capture

import "io/fs"

// DescribeMode says in words what kind of file a mode is, for messages
// about a path that is not the regular file expected: "a directory", "a
// FIFO", "a character device". (FileMode.String gives "Dc---------".)
func DescribeMode(m fs.FileMode) string {
	t := m.Type()
	switch {
	case t == 0:
		return "a regular file"
	case t&fs.ModeDir != 0:
		return "a directory"
	case t&fs.ModeSymlink != 0:
		return "a symbolic link"
	case t&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case t&fs.ModeSocket != 0:
		return "a socket"
	case t&fs.ModeCharDevice != 0: // set together with ModeDevice
		return "a character device"
	case t&fs.ModeDevice != 0:
		return "a block device"
	}
	return "not a regular file (mode " + m.String() + ")"
}
