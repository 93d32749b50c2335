package capture_test

import (
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/agents-of-shield/reconpcap/capture"
)

// TestDescribeMode names the kind of real files of every type, made here
// and read back with Lstat.
func TestDescribeMode(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(file, link); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	tests := []struct {
		path, want string
	}{
		{file, "a regular file"},
		{dir, "a directory"},
		{fifo, "a FIFO"},
		{link, "a symbolic link"},
		{sock, "a socket"},
		{os.DevNull, "a character device"},
	}
	for _, tt := range tests {
		st, err := os.Lstat(tt.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := capture.DescribeMode(st.Mode()); got != tt.want {
			t.Errorf("DescribeMode(%s, %v) = %q, want %q", tt.path, st.Mode(), got, tt.want)
		}
	}
	// A block device, where the machine has one.
	for _, p := range []string{"/dev/loop0", "/dev/sda", "/dev/vda", "/dev/nvme0n1"} {
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeCharDevice == 0 && st.Mode()&os.ModeDevice != 0 {
			if got := capture.DescribeMode(st.Mode()); got != "a block device" {
				t.Errorf("DescribeMode(%s) = %q, want a block device", p, got)
			}
			break
		}
	}
}
