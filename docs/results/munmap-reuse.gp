# munmap-reuse.gp -- written by gpusim-bench: the policies of scenario munmap-reuse.
# Draw again with: gnuplot munmap-reuse.gp (in this directory)
$data << EOD
# policy sim_time_ns blocked_ns pinned_pages violations
"none" 97171533 0 0 10891
"pin" 97227963 0 16775 11396
"pin-persistent" 88423331 0 16384 30720
"fence-wait" 88118553 2676897 0 0
"fence-reload" 117360983 1017595 0 0
"refault" 89337211 3144000 0 0
EOD
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by 30 right nomirror
set grid ytics
set key off
set terminal svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'
set output 'munmap-reuse.svg'
set multiplot layout 2,2 title 'munmap-reuse'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:129.097]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [0.508798:6.288]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:18452.5]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:33792]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
set terminal pngcairo size 1000,700 noenhanced font 'sans,10'
set output 'munmap-reuse.png'
set multiplot layout 2,2 title 'munmap-reuse'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:129.097]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [0.508798:6.288]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:18452.5]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:33792]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
