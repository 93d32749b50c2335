package detectors

// The ports the exfiltration rules treat as made for moving data.

// fileServicePort names the ports of internal file and backup services:
// FTP, SSH/SFTP/scp/rsync over SSH, NFS and its portmapper, SMB and
// NetBIOS sessions, AFP, rsync, VMware NFC, iSCSI, and the agents of
// Bacula (9102-9103), NetBackup (1556, 13724), Veeam (6160, 6162),
// Commvault (8400, 8403) and NDMP (10000). Copies to them are what
// backups and file shares do.
func fileServicePort(p uint16) bool {
	switch p {
	case 20, 21, 22, 111, 139, 445, 548, 873, 902, 1556, 2049, 3260, 6160, 6162, 8400, 8403, 9102, 9103, 10000, 13724:
		return true
	}
	return false
}

// transferPort names the ports where uploads are ordinary: the file and
// backup services, web (80, 443, 8080, 8443), and mail submission and
// storage (25, 465, 587, 2525, 143, 993), FTPS (989, 990).
func transferPort(p uint16) bool {
	switch p {
	case 25, 80, 143, 443, 465, 587, 989, 990, 993, 2525, 8080, 8443:
		return true
	}
	return fileServicePort(p)
}
